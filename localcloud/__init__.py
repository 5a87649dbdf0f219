"""Local stand-ins for AWS services, served over real HTTP for tests, demos and benchmarks."""
