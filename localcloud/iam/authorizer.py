"""AccessDenied computed from policies: who is calling, and may they.

Each Lambda function the local cloud runs gets credentials of its own role (an access key
id derived from the role), as Lambda gives a function its execution role's temporary
credentials (AWS Lambda Developer Guide, "Lambda execution role"). A local service reads
the access key id from the request's SigV4 ``Authorization`` header, looks up the role's
identity policies (registered by the local CloudFormation from the deployed template,
:mod:`localcloud.cloudformation.iam_roles`) and asks the evaluator
(:mod:`localcloud.iam`) whether the action on the resource ARN is allowed. Requests signed
with any other key (the test harness's own clients) are not evaluated.

Decisions are cached per (key, action, resource) until the key's policies change.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from localcloud.iam import Decision, Evaluator, IamRequest, NamedPolicy

__all__ = ["Authorizer", "Principal", "access_key_for", "access_key_from_headers"]

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


@dataclass(frozen=True)
class Principal:
    """A role as IAM evaluates it, and the session name its AccessDenied messages show."""

    role_arn: str
    policies: Sequence[NamedPolicy]
    session: str = "localcloud"

    @property
    def assumed_role_arn(self) -> str:
        # arn:aws:iam::<account>:role/<name> -> arn:aws:sts::<account>:assumed-role/<name>/<session>
        prefix, _, name = self.role_arn.partition(":role/")
        account = prefix.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{name.rsplit('/', 1)[-1]}/{self.session}"


def access_key_for(role_identity: str) -> str:
    """A stable access key id for a role (``ASIA``: temporary credentials, as Lambda's)."""
    digest = hashlib.sha256(role_identity.encode()).hexdigest().upper()
    return "ASIA" + digest[:16]


def access_key_from_headers(
    headers: Mapping[str, str] | None, authorization: str | None
) -> str | None:
    """The access key id of a SigV4-signed request (None: unsigned or another scheme)."""
    value = authorization
    if value is None and headers is not None:
        value = headers.get("Authorization") or headers.get("authorization")
    if not value:
        return None
    match = _CREDENTIAL.search(value)
    return match.group(1) if match else None


class Authorizer:
    """Access key ids -> principals; decides their calls with one evaluator process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._principals: dict[str, Principal] = {}
        self._cache: dict[
            tuple[str, str, str, str, tuple[tuple[str, str], ...]], Decision
        ] = {}
        self._evaluator: Evaluator | None = None
        #: Every evaluated call: (access key, action, resource, decision), in order.
        self.decisions: list[tuple[str, str, str, Decision]] = []

    def register(self, access_key_id: str, principal: Principal) -> None:
        """Evaluate calls signed with ``access_key_id`` against ``principal``'s policies."""
        with self._lock:
            self._principals[access_key_id] = principal
            self._cache = {k: v for k, v in self._cache.items() if k[0] != access_key_id}
            if self._evaluator is None:
                # Started now, so Node's start-up is not paid by the first request.
                self._evaluator = Evaluator().start()

    def principal(self, access_key_id: str | None) -> Principal | None:
        with self._lock:
            return self._principals.get(access_key_id or "")

    def decide(
        self,
        access_key_id: str | None,
        action: str,
        resource: str,
        account: str,
        context: Mapping[str, str] | None = None,
    ) -> Decision | None:
        """The decision for a call (with the request's condition ``context``, such as
        ``s3:prefix``), or None when the key is not a registered principal."""
        with self._lock:
            principal = self._principals.get(access_key_id or "")
            if principal is None or access_key_id is None:
                return None
            key = (access_key_id, action, resource, account,
                   tuple(sorted((context or {}).items())))
            cached = self._cache.get(key)
            if cached is None and self._evaluator is None:
                self._evaluator = Evaluator().start()
            evaluator = self._evaluator
        if cached is not None:
            decision = cached
        else:
            assert evaluator is not None
            decision = evaluator.decide(
                IamRequest(principal.role_arn, principal.policies, action, resource, account,
                           dict(context or {}))
            )
            with self._lock:
                self._cache[key] = decision
        with self._lock:
            self.decisions.append((access_key_id, action, resource, decision))
        return decision

    def denial(
        self,
        access_key_id: str | None,
        action: str,
        resource: str,
        account: str,
        context: Mapping[str, str] | None = None,
    ) -> str | None:
        """IAM's AccessDenied message if the call is denied; None if allowed or not evaluated."""
        decision = self.decide(access_key_id, action, resource, account, context)
        if decision is None or decision == "Allowed":
            return None
        principal = self.principal(access_key_id)
        assert principal is not None
        why = (
            "with an explicit deny in an identity-based policy"
            if decision == "ExplicitlyDenied"
            else f"because no identity-based policy allows the {action} action"
        )
        return (
            f"User: {principal.assumed_role_arn} is not authorized to perform: {action} "
            f"on resource: {resource} {why}"
        )

    def close(self) -> None:
        with self._lock:
            evaluator, self._evaluator = self._evaluator, None
        if evaluator is not None:
            evaluator.close()
