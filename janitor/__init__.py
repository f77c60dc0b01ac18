"""gitlab-janitor: policy-driven, dry-run-first clean-up for GitLab."""

__version__ = "0.1.0"
