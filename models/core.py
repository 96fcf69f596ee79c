"""Tenancy and authentication: organisations, users, API keys."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import TenantModel


class Role(StrEnum):
    ADMIN = "ADMIN"
    STAFF = "STAFF"
    VIEWER = "VIEWER"


class ApiScope(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    SUBSCRIBE = "SUBSCRIBE"


class Organization(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=80, unique=True)
    time_zone = fields.CharField(max_length=64, default="Europe/Paris")
    default_locale = fields.CharField(max_length=5, default="fr")
    reminder_days_before_deadline = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)


class User(TenantModel):
    email = fields.CharField(max_length=254, unique=True)
    full_name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=10, default=Role.STAFF)
    is_active = fields.BooleanField(default=True)
    last_login_at = fields.DatetimeField(null=True)


class ApiKey(TenantModel):
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16, unique=True)  # public part, used to look the key up
    secret_hash = fields.CharField(max_length=64)  # sha256 of the full key (256 random bits)
    scopes = fields.JSONField(default=list)
    created_by = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
