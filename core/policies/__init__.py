"""Pre-flight rules, grouped by what they look at, and the policy profiles (``*.json``) that set their levels.

Importing ``core.policy`` registers every rule; ``core.policy_config`` reads the profiles.
"""
