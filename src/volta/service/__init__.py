"""After-sales service: service cases (from alerts or by hand, with SLA timers), workshops
and transactional appointment booking, recalls and field campaigns, and notifications
(signed webhooks, e-mail). Pure rules in `cases`, `slots`, `recalls`; storage in the
registry's database (`casebook`, `booking`, `recallbook`, `outbox`); `desk` ties them
together; `notify` sends; `api` presents."""

from volta.service.desk import ServiceDesk
from volta.service.model import AlertDetails, Case, CaseState

__all__ = ["AlertDetails", "Case", "CaseState", "ServiceDesk"]
