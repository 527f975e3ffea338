"""k8s.delete_pod | scale: the exact kubectl argument lists (a recording script stands in for
kubectl: no Kubernetes cluster runs here; see cli_recorder)."""

from __future__ import annotations

import pytest
from cli_recorder import Recorder

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.checks import CheckStatus, preflight_check
from drdrill.drills.faults import build_fault
from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import DrillFile, K8sDeletePodFault, K8sScaleFault
from drdrill.errors import FaultError

pytestmark = pytest.mark.timeout(30)


def _drill(fault: dict[str, object]) -> DrillFile:
    return parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": fault,
    })


async def test_delete_pod_returns_once_the_api_accepted_it(recorder: Recorder) -> None:
    spec = K8sDeletePodFault.model_validate({
        "kind": "k8s.delete_pod", "namespace": "databases", "pod": "postgres-0",
        "context": "us-east-1", "grace_period_seconds": 0, "binary": str(recorder.path),
    })
    fault = build_fault(spec)

    await fault.inject()
    await fault.lift()  # nothing to undo: the pod's controller makes a new one
    assert recorder.calls() == [[
        "--context", "us-east-1", "--namespace", "databases",
        "delete", "pod", "postgres-0", "--wait=false", "--grace-period=0",
    ]]
    assert fault.target == "pod postgres-0 in namespace databases, context us-east-1"


async def test_scale_reads_the_replicas_then_scales_back_to_them(recorder: Recorder) -> None:
    recorder.answer(("get", "3", 0))
    spec = K8sScaleFault.model_validate({
        "kind": "k8s.scale", "namespace": "db", "resource": "statefulset/pg", "replicas": 0,
        "binary": str(recorder.path),
    })
    fault = build_fault(spec)

    await fault.inject()
    await fault.lift()
    base = ["--namespace", "db"]
    assert recorder.calls() == [
        base + ["get", "statefulset/pg", "-o", "jsonpath={.spec.replicas}"],
        base + ["scale", "statefulset/pg", "--replicas=0"],
        base + ["scale", "statefulset/pg", "--replicas=3"],
    ]
    assert fault.target == "statefulset/pg to 0 replicas, then back in namespace db"


async def test_a_scale_never_injected_is_not_lifted(recorder: Recorder) -> None:
    recorder.answer(("get", "three", 0))
    spec = K8sScaleFault.model_validate({
        "kind": "k8s.scale", "namespace": "db", "resource": "deployment/api", "replicas": 1,
        "binary": str(recorder.path),
    })
    fault = build_fault(spec)

    with pytest.raises(FaultError) as caught:
        await fault.inject()
    await fault.lift()
    assert str(caught.value) == (
        "k8s.scale deployment/api: kubectl gave 'three' for .spec.replicas"
    )
    assert [call[2] for call in recorder.calls()] == ["get"]


async def test_preflight_asks_kubectl_and_changes_nothing(recorder: Recorder) -> None:
    drill = _drill({"kind": "k8s.delete_pod", "namespace": "db", "pod": "pg-0",
                    "binary": str(recorder.path)})
    check = preflight_check("k8s.delete_pod")
    assert check is not None

    recorder.answer(("can-i", "yes\n", 0))
    result = await check(drill.faults[0], drill)
    assert (result.status, result.detail) == (CheckStatus.OK, "pod pg-0 exists and may be deleted")

    recorder.answer(("can-i", "no\n", 1))
    result = await check(drill.faults[0], drill)
    assert result.status == CheckStatus.FAILED
    assert result.detail.startswith("not allowed to delete pods: kubectl auth can-i:")
    assert recorder.calls() == [
        ["--namespace", "db", "get", "pod", "pg-0", "-o", "name"],
        ["--namespace", "db", "auth", "can-i", "delete", "pods"],
    ] * 2
