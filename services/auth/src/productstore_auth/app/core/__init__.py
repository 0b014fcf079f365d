"""Pure building blocks: settings, input policy, problems, the signing-key model."""
