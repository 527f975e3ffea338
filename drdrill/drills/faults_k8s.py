"""Kubernetes faults through kubectl: delete a pod, or scale a workload (and scale it back).

kubectl gets an argument list (`binary` from the drill file, default `kubectl`), never a shell
string, and always an explicit namespace, so that a drill never acts on whatever namespace
the current kubeconfig context happens to default to.

Why `--wait=false` on delete: kubectl otherwise returns only once the pod is gone, after its
grace period, so T0 (journaled when the inject returns) would come seconds after the pod began
to terminate. The fault's instant is when the API server accepted the deletion.
"""

from __future__ import annotations

import logging
from typing import Any

from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import Fault, register_fault
from drdrill.drills.faults_exec import run_command
from drdrill.drills.schema import DrillFile
from drdrill.errors import FaultError

logger = logging.getLogger(__name__)


def kubectl_argv(spec: Any, *args: str) -> list[str]:
    """`kubectl [--context C] --namespace N ARGS...`."""
    argv = [spec.binary]
    if spec.context:
        argv += ["--context", spec.context]
    return argv + ["--namespace", spec.namespace, *args]


def _where(spec: Any, what: str) -> str:
    context = f", context {spec.context}" if spec.context else ""
    return f"{what} in namespace {spec.namespace}{context}"


@register_fault("k8s.delete_pod")
def delete_pod_fault(spec: Any) -> Fault:
    """Delete one pod; nothing to lift (its controller, if any, makes a new one)."""
    grace = [f"--grace-period={spec.grace_period_seconds}"] \
        if spec.grace_period_seconds is not None else []

    async def inject() -> None:
        argv = kubectl_argv(spec, "delete", "pod", spec.pod, "--wait=false", *grace)
        await run_command(argv, timeout_s=spec.timeout_seconds, what=f"k8s.delete_pod {spec.pod}")

    async def lift() -> None:
        return None

    return Fault(spec.kind, _where(spec, f"pod {spec.pod}"), inject, lift,
                 spec.duration_seconds)


@register_fault("k8s.scale")
def scale_fault(spec: Any) -> Fault:
    """Scale a workload to `replicas`; the lift scales it back to what it had before."""
    before: dict[str, int] = {}

    async def inject() -> None:
        before["replicas"] = await current_replicas(spec)
        argv = kubectl_argv(spec, "scale", spec.resource, f"--replicas={spec.replicas}")
        await run_command(argv, timeout_s=spec.timeout_seconds, what=f"k8s.scale {spec.resource}")

    async def lift() -> None:
        if "replicas" not in before:
            return  # never scaled: nothing to put back
        argv = kubectl_argv(spec, "scale", spec.resource, f"--replicas={before['replicas']}")
        await run_command(argv, timeout_s=spec.timeout_seconds,
                          what=f"k8s.scale {spec.resource} (lift)")

    where = _where(spec, f"{spec.resource} to {spec.replicas} replicas, then back")
    return Fault(spec.kind, where, inject, lift, spec.duration_seconds)


async def current_replicas(spec: Any) -> int:
    """The workload's `.spec.replicas` now; raises `FaultError` if kubectl cannot say."""
    argv = kubectl_argv(spec, "get", spec.resource, "-o", "jsonpath={.spec.replicas}")
    text = await run_command(argv, timeout_s=spec.timeout_seconds,
                             what=f"k8s.scale {spec.resource} (read replicas)")
    try:
        return int(text.strip())
    except ValueError:
        raise FaultError(
            f"k8s.scale {spec.resource}: kubectl gave {text.strip()!r} for .spec.replicas"
        ) from None


async def _can_i(spec: Any, *question: str) -> CheckResult | None:
    """None when kubectl says yes; a failed result naming the question otherwise."""
    try:
        await run_command(kubectl_argv(spec, "auth", "can-i", *question),
                          timeout_s=spec.timeout_seconds, what="kubectl auth can-i")
    except FaultError as exc:  # can-i exits 1 for "no"
        return CheckResult.failed(f"not allowed to {' '.join(question)}: {exc}")
    return None


@register_preflight_check("k8s.delete_pod")
async def check_delete_pod(spec: Any, drill: DrillFile) -> CheckResult:
    """The pod exists and we may delete pods in its namespace; nothing is changed."""
    try:
        await run_command(kubectl_argv(spec, "get", "pod", spec.pod, "-o", "name"),
                          timeout_s=spec.timeout_seconds, what="kubectl get pod")
    except FaultError as exc:
        return CheckResult.failed(str(exc))
    return await _can_i(spec, "delete", "pods") or CheckResult.ok(
        f"pod {spec.pod} exists and may be deleted"
    )


@register_preflight_check("k8s.scale")
async def check_scale(spec: Any, drill: DrillFile) -> CheckResult:
    """The workload exists (its replicas are read) and we may update its scale."""
    try:
        replicas = await current_replicas(spec)
    except FaultError as exc:
        return CheckResult.failed(str(exc))
    # kubectl resolves the resource's type as `kubectl get` would (statefulset, deploy...).
    kind = spec.resource.split("/")[0]
    return await _can_i(spec, "update", kind, "--subresource=scale") or CheckResult.ok(
        f"{spec.resource} has {replicas} replicas and may be scaled"
    )
