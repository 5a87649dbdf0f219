"""Local stand-ins for AWS services, served over real HTTP for tests, demos and benchmarks.

The folders are the services, each a judge that imports nothing from the product:

- :mod:`localcloud.cloudfront`: invalidations, rates, faults, and the edge caches visitors hit;
- :mod:`localcloud.awslambda`: functions run in their own process by the real runtime
  interface client, synchronous and asynchronous invokes;
- :mod:`localcloud.cloudformation`: stacks of a synthesized assembly deployed in dependency
  order, the ResponseURL server, the asset bucket, aws-cdk-lib's own BucketDeployment handler;
- :mod:`localcloud.iam`: requests decided by an IAM evaluator this project did not write;
- :mod:`localcloud.s3`: S3 faults on top of moto's S3;
- :mod:`localcloud.traffic`: generated sites and the visitors who load them.

The modules at this level are the scripts on top (the demo, the scenarios, the fault and
prune matrices, the account-scale run) and what they share (a CDK synth, a clock).
"""
