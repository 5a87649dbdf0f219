"""The Lambda function's entry points and its answer to CloudFormation.

Standard library only at import time, so that a function whose handler cannot load still
answers. The one exception is asked for lazily: ``stack_status`` imports boto3 inside a
function, in a guard, where Lambda's Python runtime provides it; if it cannot load, the
stack's status is unknown and the answer is the one for a normal update.
"""
