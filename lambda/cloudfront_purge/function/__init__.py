"""The Lambda function's entry points and its answer to CloudFormation.

Standard library only, so that a function whose handler cannot load still answers.
"""
