"""The compliance audit of published image versions.

- ``rules``  pure rules over one version and its DES facts, each finding with a stable code
- ``run``    reads the galleries from ARM, applies the rules, keeps the findings table
"""
