"""Pre-flight policy: facts gathered from ARM, pure rules over (request, facts), and the profiles that set them.

- ``facts``     what the rules need to know, read from ARM (reads only)
- ``registry``  the ``@rule`` decorator and the table of rules;  ``views``  request fields as rules see them
- ``rules/``    the rules, one module per subject (resources, source, the request's shape, encryption)
- ``config``    profiles (``profiles/*.json``, ``POLICY_PROFILE``, ``POLICY_FILE``): error, warning or off per code
- ``keychain``  the key chain behind each DES (pure verdicts);  ``key_facts``  reading it from ARM
- ``check``     ``evaluate`` (pure) and ``check_live`` (facts from ARM, then evaluate; ``check_live_report``
                adds each DES's key-chain verdict)
"""

from core.policy.check import (
    RULES,
    Finding,
    LiveCheck,
    Rule,
    Severity,
    Violation,
    check_live,
    check_live_report,
    default_config,
    describe_rules,
    evaluate,
    key_chain_verdicts,
    rule,
)

__all__ = ["RULES", "Finding", "LiveCheck", "Rule", "Severity", "Violation", "check_live", "check_live_report",
           "default_config", "describe_rules", "evaluate", "key_chain_verdicts", "rule"]
