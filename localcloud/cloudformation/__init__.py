"""A local CloudFormation: deploys a synthesized cloud assembly's stacks in dependency order."""
