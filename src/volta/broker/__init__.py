"""Per-vehicle broker credentials: Mosquitto password file, ACL and their provisioning.

A vehicle logs in to the broker with its VIN as username and a secret of its own; the ACL lets
it publish and subscribe only under `{prefix}/{its VIN}/…`. The gateway has a service login
that reads every vehicle's uplink topics. Only hashes are stored; secrets are shown once.
"""

from volta.broker.acl import DEFAULT_GATEWAY_USER, GATEWAY_GRANTS, VEHICLE_GRANTS, Access, Grant
from volta.broker.files import BrokerFiles, load_state, reload_broker, write_broker_files
from volta.broker.passwords import hash_password, new_secret, verify_password
from volta.broker.provision import ProvisionReport, provision
from volta.broker.state import (
    BrokerUser,
    CredentialState,
    IssuedSecret,
    ProvisionRequest,
    UserRole,
    plan,
)

__all__ = [
    "DEFAULT_GATEWAY_USER",
    "GATEWAY_GRANTS",
    "VEHICLE_GRANTS",
    "Access",
    "BrokerFiles",
    "BrokerUser",
    "CredentialState",
    "Grant",
    "IssuedSecret",
    "ProvisionReport",
    "ProvisionRequest",
    "UserRole",
    "hash_password",
    "load_state",
    "new_secret",
    "plan",
    "provision",
    "reload_broker",
    "verify_password",
    "write_broker_files",
]
