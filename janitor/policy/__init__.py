"""Policy language v1: load, validate (structure, JSON schema, semantics) and resolve overrides."""

from janitor.policy.loader import load_policy, validate_text
from janitor.policy.model import EffectiveRule, Limits, Policy, Rule, Scope
from janitor.policy.schema import policy_schema

__all__ = ["EffectiveRule", "Limits", "Policy", "Rule", "Scope", "load_policy", "policy_schema", "validate_text"]
