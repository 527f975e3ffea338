"""Imports every module that registers steps or faults, so that the registries are complete."""

from drdrill.drills import (
    checks_builtin,
    faults,
    faults_aws,
    faults_compose,
    faults_exec,
    faults_k8s,
    faults_proxy,
    steps,
    steps_clickhouse,
    steps_nats,
    steps_route53,
)

__all__ = [
    "checks_builtin", "faults", "faults_aws", "faults_compose", "faults_exec", "faults_k8s",
    "faults_proxy", "steps", "steps_clickhouse", "steps_nats", "steps_route53",
]
