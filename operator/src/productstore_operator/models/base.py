"""What every ProductStore model shares: camelCase JSON, strictness, CEL rules.

A cross-field rule is written once, as a method decorated with ``cel_rule``:
the method is the Python check that ``model_validate`` runs, and the CEL
expression and message go into the CRD as ``x-kubernetes-validations``, so the
apiserver and the operator reject the same specs with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

CRD_VALIDATIONS = "x-kubernetes-validations"


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry."""

    rule: str
    message: str
    # JSON path, relative to the object, of the field the message is about
    # (e.g. ".minReplicas"): the apiserver reports the error there.
    field_path: str | None = None

    def to_schema(self) -> dict[str, str]:
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        return entry


M = TypeVar("M", bound="ResourceModel")
_RULE_ATTRIBUTE = "__cel_rule__"


def cel_rule(
    rule: str, message: str, *, field_path: str | None = None
) -> Callable[[Callable[[M], bool]], Callable[[M], bool]]:
    """Mark a ``(self) -> bool`` method as the Python twin of a CEL rule."""

    def mark(check: Callable[[M], bool]) -> Callable[[M], bool]:
        setattr(check, _RULE_ATTRIBUTE, CelRule(rule, message, field_path))
        return check

    return mark


def immutable(message: str) -> dict[str, Any]:
    """``json_schema_extra`` for a field that must not change after creation.

    Transition rules need the old object, which only the apiserver has, so they
    have no Python twin.
    """
    return {CRD_VALIDATIONS: [CelRule("self == oldSelf", message).to_schema()]}


def _add_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    checks = getattr(model, "cel_checks", ())
    if checks:
        schema[CRD_VALIDATIONS] = [rule.to_schema() for rule, _ in checks]


class ResourceModel(BaseModel):
    """Base of the spec and status models: camelCase aliases, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_add_rules,
    )

    cel_checks: ClassVar[tuple[tuple[CelRule, Callable[[Any], bool]], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.cel_checks = tuple(
            (rule, member)
            for klass in reversed(cls.__mro__)
            for member in vars(klass).values()
            if isinstance(rule := getattr(member, _RULE_ATTRIBUTE, None), CelRule)
        )

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        broken = [rule.message for rule, holds in self.cel_checks if not holds(self)]
        if broken:
            raise ValueError("; ".join(broken))
        return self


# --- Value types shared by several models -----------------------------------

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

DnsLabel = Annotated[str, StringConstraints(max_length=63, pattern=DNS_LABEL)]
DnsSubdomain = Annotated[str, StringConstraints(max_length=253, pattern=DNS_SUBDOMAIN)]
HttpUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s/]+(/\S*)?$")]

# Go duration syntax restricted to the units Istio and humans use: 500ms, 2s, 1m30s.
Duration = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
]

# Kubernetes resource.Quantity: YAML users write both `cpu: 1` and `cpu: 500m`,
# so it is int-or-string in the CRD and always a string in Python.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def _quantity_to_str(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity_to_str),
    StringConstraints(max_length=64, pattern=QUANTITY_PATTERN),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": True,
        }
    ),
]

Replicas = Annotated[int, Field(ge=1, le=1000)]

__all__ = [
    "CRD_VALIDATIONS",
    "CelRule",
    "DnsLabel",
    "DnsSubdomain",
    "Duration",
    "HttpUrl",
    "Quantity",
    "Replicas",
    "ResourceModel",
    "cel_rule",
    "immutable",
]
