"""The catalog: which systems exist, how to reach them, and engine settings.

Validated with pydantic so every mistake is reported with its key path
(``sources.salesforce.retry.budget: ...``) before anything connects.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from adapters.contract import Credentials
from adapters.registry import ADAPTERS
from federation.errors import CatalogError
from federation.policy import RolePolicy, UserPolicy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretRef(_Strict):
    """A secret read from an environment variable or a file, never written inline."""

    env: str | None = None
    file: str | None = None

    def model_post_init(self, _: Any) -> None:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: or file:")


class RetrySettings(_Strict):
    max_attempts: int = Field(5, ge=1, le=20)
    budget: int = Field(20, ge=0, le=1000)
    backoff_initial_seconds: float = Field(0.2, gt=0, le=60)
    backoff_max_seconds: float = Field(10.0, gt=0, le=600)
    retry_after_max_seconds: float = Field(60.0, gt=0, le=3600)


# Auth values that say who logs in rather than prove it: the only ones a catalog may hold
# as plain text. Every other auth value (passwords, secrets, tokens, keys, NetSuite's
# consumer_key and token_id, which NetSuite shows only once, and any key not listed here)
# must be an env: or file: reference, so a catalog can be shared or committed.
PLAIN_AUTH_KEYS = frozenset({"user", "username", "client_id", "account_id", "realm_id",
                             "tenant_id"})
INLINE_SECRET = "inline_secret"


class SourceConfig(_Strict):
    type: str
    url: str
    description: str = ""
    cache_ttl_seconds: float = Field(300.0, ge=0)
    max_concurrency: int = Field(4, ge=1, le=64)
    requests_per_second: int | None = Field(None, ge=1, le=10000)  # client-side throttle
    timeout_seconds: float = Field(30.0, gt=0)
    retry: RetrySettings = RetrySettings()
    # Plain values only for PLAIN_AUTH_KEYS (a client id, a user name); secrets: env:/file:.
    auth: dict[str, str | SecretRef] = {}
    options: dict[str, Any] = {}

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in ADAPTERS:
            known = ", ".join(sorted(ADAPTERS))
            raise ValueError(f"unknown source type {value!r} (known: {known})")
        return value

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str, info: ValidationInfo) -> str:
        """A field check (not a model check), so it is reported beside the other errors."""
        adapter = ADAPTERS.get(info.data.get("type", ""))
        if adapter is None:
            return value  # the unknown type is the error to report
        schemes = adapter.url_schemes
        if not any(value.startswith(f"{s}:") for s in schemes):
            raise ValueError("must start with " + " or ".join(f"{s}://" for s in schemes))
        return value

    @field_validator("auth")
    @classmethod
    def _no_inline_secrets(cls, value: dict[str, str | SecretRef]
                           ) -> dict[str, str | SecretRef]:
        inline = [key for key, ref in value.items()
                  if isinstance(ref, str) and key.lower() not in PLAIN_AUTH_KEYS]
        if inline:
            raise PydanticCustomError(
                INLINE_SECRET, "secrets must not be written in the catalog: {keys}",
                {"keys": inline})
        return value


class Settings(_Strict):
    # folders of view files (.sql), relative to the catalog, besides the built-in views/
    views: list[str] = []
    cache_max_bytes: int = Field(256 * 1024 * 1024, ge=0)
    max_parallel_scans: int = Field(8, ge=1, le=128)
    schema_ttl_seconds: float = Field(600.0, ge=0)


# The built-in source that serves the unified model's settings and identity tables.
MODEL_SOURCE = "concord"
SurvivorshipRule = Literal["priority", "most_recent", "most_frequent"]


class ReconciliationSettings(_Strict):
    # AMOUNT_MISMATCH when |CRM - ERP| > max(amount_tolerance_min, pct x CRM amount)
    amount_tolerance_pct: float = Field(0.01, ge=0, le=1)
    amount_tolerance_min: float = Field(1.0, ge=0)
    # a won deal needs an ERP order once it closed more than this many days ago
    won_grace_days: int = Field(7, ge=0, le=365)


class IdentitySettings(_Strict):
    # links at or above this probability merge; [review, auto_merge) go to review
    auto_merge_probability: float = Field(0.99, gt=0, le=1)
    review_probability: float = Field(0.5, gt=0, le=1)
    # steward must-link / cannot-link pairs (CSV), relative to the catalog
    steward_overrides: str | None = None
    # how long one resolution of every source account is reused
    refresh_seconds: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _bands(self) -> IdentitySettings:
        if self.review_probability > self.auto_merge_probability:
            raise ValueError("review_probability must not exceed auto_merge_probability")
        return self


class FieldRule(_Strict):
    """Which systems may supply a customer field, in order, and how to pick among them."""

    systems: list[str] = Field(min_length=1)
    rule: SurvivorshipRule = "priority"


class ModelSettings(_Strict):
    """The unified model: currency, calendar, tolerances, identity, system of record."""

    corporate_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    # "today" for trailing-twelve-month figures, past-due and grace periods; None: the
    # current date (set it to reproduce a report as of a day)
    as_of_date: dt.date | None = None
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    identity: IdentitySettings = IdentitySettings()
    # canonical customer field -> master system and fallbacks; fields not listed take
    # the most recent non-empty value from any system
    system_of_record: dict[str, FieldRule] = {}


class ServerUser(_Strict):
    """A login of the PostgreSQL wire server; the password comes from env or a file.
    ``auth: md5`` is for clients without SCRAM (older Npgsql, as Power BI bundles)."""

    password: SecretRef
    auth: Literal["scram-sha-256", "md5"] = "scram-sha-256"


class TlsSettings(_Strict):
    cert_file: str  # PEM; relative paths start at the catalog's folder
    key_file: str


class ServerSettings(_Strict):
    """``concord serve``: who may log in (SCRAM-SHA-256 or MD5) and the TLS certificate."""

    users: dict[str, ServerUser] = {}
    tls: TlsSettings | None = None


class GovernanceSettings(_Strict):
    """Who may see what, and the record of what they asked. With no users declared every
    query is allowed (a single-user setup); once users are, unknown users are refused and
    each user reads through their role's grants, masks and row filters."""

    # the hash-chained audit ledger every query is appended to (relative paths start at
    # the catalog's folder); no ledger when unset
    audit_ledger: str | None = None
    # who a query without a user runs as (the CLI without --user, the dashboards)
    default_user: str | None = None
    users: dict[str, UserPolicy] = {}
    roles: dict[str, RolePolicy] = {}
    # the dashboards ask who is there (a wire-server login: server.users) instead of
    # reading as default_user
    dashboard_login: bool = False

    @model_validator(mode="after")
    def _roles_exist(self) -> GovernanceSettings:
        for name, user in self.users.items():
            if user.role not in self.roles:
                raise ValueError(f"governance.users.{name}.role names {user.role!r}, not a "
                                 f"role in governance.roles ({', '.join(self.roles)})")
        if self.default_user is not None and self.users and (
                self.default_user not in self.users):
            raise ValueError(f"governance.default_user {self.default_user!r} is not in "
                             "governance.users")
        return self


def _source_name(name: str) -> str:
    """Checked per key, so a bad name is reported beside the errors inside its entry."""
    if not name.isidentifier() or name.lower() != name:
        raise ValueError(f"source name {name!r} must be a lowercase identifier")
    if name == MODEL_SOURCE:
        raise ValueError(f"source name {name!r} is reserved for the built-in "
                         "unified-model source; rename it")
    return name


class CatalogModel(_Strict):
    version: Literal[1] = 1
    settings: Settings = Settings()
    model: ModelSettings = ModelSettings()
    server: ServerSettings = ServerSettings()
    governance: GovernanceSettings = GovernanceSettings()
    sources: dict[Annotated[str, AfterValidator(_source_name)], SourceConfig]

    @model_validator(mode="after")
    def _record_systems_exist(self) -> CatalogModel:
        rules = {name: rule.systems for name, rule in self.model.system_of_record.items()}
        problems = _unknown_record_systems(rules, list(self.sources))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _dashboard_logins_exist(self) -> CatalogModel:
        if self.governance.dashboard_login and not (
                set(self.governance.users) & set(self.server.users)):
            raise ValueError("governance.dashboard_login needs users with a password: "
                             "declare them under governance.users and server.users")
        return self


def _unknown_record_systems(rules: dict[str, list[str]], sources: list[str]) -> list[str]:
    """``model.system_of_record`` entries naming a system that is not a catalog source."""
    problems = []
    for field_name, systems in rules.items():
        unknown = [s for s in systems if s not in sources]
        if unknown:
            problems.append(
                f"model.system_of_record.{field_name}.systems names "
                f"{', '.join(map(repr, unknown))}, not a source in this catalog "
                f"(sources: {', '.join(sources)})")
    return problems


class Catalog:
    """A loaded, validated catalog plus where it came from (for relative secret files)."""

    def __init__(self, model: CatalogModel, base_dir: Path, path: Path | None = None) -> None:
        self.model = model
        self.base_dir = base_dir
        self.path = path

    @property
    def sources(self) -> dict[str, SourceConfig]:
        return self.model.sources

    @property
    def settings(self) -> Settings:
        return self.model.settings

    @property
    def unified(self) -> ModelSettings:
        """The unified model's settings (the catalog's ``model:`` section)."""
        return self.model.model

    def credentials(self, source: str) -> Credentials:
        return CatalogCredentials(source, self.sources[source].auth, self.base_dir)

    @property
    def server(self) -> ServerSettings:
        return self.model.server

    def server_password(self, user: str) -> str | None:
        """The wire-server password of ``user``; None when no such user is declared."""
        login = self.server.users.get(user)
        if login is None:
            return None
        return resolve_secret(login.password, f"server.users.{user}.password", self.base_dir)

    def audit_ledger_path(self) -> Path | None:
        ledger = self.model.governance.audit_ledger
        return None if ledger is None else self.path_of(ledger)

    def path_of(self, name: str) -> Path:
        """A file named in the catalog (relative paths start at the catalog's folder)."""
        path = Path(name)
        return path if path.is_absolute() else self.base_dir / path


def resolve_secret(ref: SecretRef, where: str, base_dir: Path) -> str:
    """A secret's value from the environment or a file, or a CatalogError naming ``where``."""
    if ref.env:
        value = os.environ.get(ref.env)
        if value is None:
            raise CatalogError(f"{where}: environment variable {ref.env} is not set",
                               hint=f"export {ref.env}=... before running Concord")
        return value
    path = Path(ref.file or "")
    if not path.is_absolute():
        path = base_dir / path
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CatalogError(f"{where}: cannot read secret file {path}: {exc.strerror}",
                           hint="check the path (relative paths start at the catalog's "
                                "folder) and its permissions") from exc


class CatalogCredentials(Credentials):
    def __init__(self, source: str, auth: dict[str, str | SecretRef], base_dir: Path) -> None:
        self.source = source
        self.auth = auth
        self.base_dir = base_dir

    def describe(self, key: str) -> str:
        ref = self.auth.get(key)
        if ref is None:
            return "not set"
        if isinstance(ref, str):
            return "set in the catalog"
        return f"env {ref.env}" if ref.env else f"file {ref.file}"

    def get(self, key: str) -> str | None:
        ref = self.auth.get(key)
        if ref is None:
            return None
        if isinstance(ref, str):
            return ref
        return resolve_secret(ref, f"sources.{self.source}.auth.{key}", self.base_dir)


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}",
                           hint="pass --catalog FILE or run from the project folder") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    return parse_catalog(raw, base_dir=path.resolve().parent, path=path)


def parse_catalog(raw: Any, *, base_dir: Path, path: Path | None = None) -> Catalog:
    """Validate ``raw``; every problem, each with its key path, in one CatalogError."""
    label = str(path) if path else "catalog"
    if not isinstance(raw, dict):
        raise CatalogError(f"{label}: expected a mapping with a 'sources' key")
    problems: list[str] = []
    model: CatalogModel | None = None
    try:
        model = CatalogModel.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            if "str" in error["loc"] and error["type"] == "string_type":
                continue  # union noise: the SecretRef branch explains the problem
            problems.extend(_describe_all(error, raw))
        problems.extend(_record_system_problems(raw))  # pydantic skips it after an error
    problems.extend(_option_problems(raw))
    if problems or model is None:
        raise CatalogError(f"{label}: " + "; ".join(dict.fromkeys(problems)),
                           hint="fix the catalog entries named above")
    return Catalog(model, base_dir=base_dir, path=path)


def _option_problems(raw: dict[str, Any]) -> list[str]:
    """Each source's ``options`` against its adapter's Options, whatever else is wrong."""
    problems: list[str] = []
    sources = raw.get("sources")
    for name, entry in (sources.items() if isinstance(sources, dict) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("options", {}), dict):
            continue
        kind = entry.get("type")
        options_model = getattr(ADAPTERS.get(kind) if isinstance(kind, str) else None,
                                "Options", None)
        if options_model is None:
            continue
        try:
            options_model.model_validate(entry.get("options", {}))
        except ValidationError as exc:
            problems.extend(_describe({**e, "loc": ("sources", name, "options", *e["loc"])}, raw)
                            for e in exc.errors())
    return problems


def _record_system_problems(raw: dict[str, Any]) -> list[str]:
    """The system-of-record check on the raw catalog, for when validation stopped early."""
    model, sources = raw.get("model"), raw.get("sources")
    rules = model.get("system_of_record") if isinstance(model, dict) else None
    if not isinstance(rules, dict) or not isinstance(sources, dict):
        return []
    systems = {str(name): rule["systems"] for name, rule in rules.items()
               if isinstance(rule, dict) and isinstance(rule.get("systems"), list)
               and all(isinstance(s, str) for s in rule["systems"])}
    return _unknown_record_systems(systems, [str(s) for s in sources])


def _describe_all(error: dict[str, Any], raw: Any) -> list[str]:
    """One line per problem: an inline-secrets error names each key on its own."""
    if error["type"] == INLINE_SECRET:
        where = ".".join(str(p) for p in error["loc"])
        return [f"{where}.{key}: a secret must not be written in the catalog, use "
                f"{{env: VAR}} or {{file: PATH}} (plain values are only for "
                f"{', '.join(sorted(PLAIN_AUTH_KEYS))})" for key in error["ctx"]["keys"]]
    if error["type"] == "value_error" and not error["loc"]:
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith("model."):  # cross-section checks name their own key paths
            return message.split("; ")
    return [_describe(error, raw)]


def _describe(error: dict[str, Any], raw: Any) -> str:
    """``sources.sf.retry.budgett: unknown key (did you mean budget?)``."""
    loc = [str(p) for p in error["loc"]
           if not str(p).startswith(("str", "SecretRef")) and str(p) != "[key]"]
    key_path = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        suggestion = _suggest_key(error["loc"])
        return f"{key_path}: unknown key{suggestion}"
    message = error["msg"].removeprefix("Value error, ")
    if not loc and message.startswith("model."):
        return message  # a cross-section check that names its own key path
    return f"{key_path}: {message}"


_KNOWN_KEYS = {
    "top": set(CatalogModel.model_fields),
    "settings": set(Settings.model_fields),
    "model": (set(ModelSettings.model_fields) | set(ReconciliationSettings.model_fields)
              | set(IdentitySettings.model_fields) | set(FieldRule.model_fields)),
    "source": set(SourceConfig.model_fields),
    "retry": set(RetrySettings.model_fields),
    "secret": set(SecretRef.model_fields),
}


def _suggest_key(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    if len(loc) == 1:
        pool = _KNOWN_KEYS["top"]
    elif loc[0] in ("settings", "model"):
        pool = _KNOWN_KEYS[str(loc[0])]
    elif len(loc) == 3 and loc[0] == "sources":
        pool = _KNOWN_KEYS["source"]
    elif "retry" in loc:
        pool = _KNOWN_KEYS["retry"]
    else:
        pool = _KNOWN_KEYS["secret"] | _adapter_option_keys()
    match = difflib.get_close_matches(key, pool, n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def _adapter_option_keys() -> set[str]:
    keys: set[str] = set()
    for adapter in ADAPTERS.values():
        options = getattr(adapter, "Options", None)
        if options is not None:
            keys |= set(options.model_fields)
    return keys
