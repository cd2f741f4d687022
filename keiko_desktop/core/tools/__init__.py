"""Tool use: registry, permissions, approvals, audit and the call pipeline. Pure Python."""

from keiko_desktop.core.tools.approvals import (
    ApprovalBroker,
    ApprovalOutcome,
    ApprovalRequest,
    Approver,
)
from keiko_desktop.core.tools.errors import (
    McpConfigError,
    SecretStoreError,
    ServerUnavailableError,
    ToolCallError,
    ToolError,
    ToolNotFoundError,
    ToolTimeoutError,
)
from keiko_desktop.core.tools.events import (
    McpServerStatusChanged,
    McpToolsChanged,
    ToolApprovalRequested,
    ToolExecuted,
)
from keiko_desktop.core.tools.models import (
    ApprovalAnswer,
    AuditEntry,
    Decision,
    Note,
    Policy,
    ServerState,
    ServerStatus,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from keiko_desktop.core.tools.permissions import PolicyBook, default_policy
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.core.tools.registry import ToolRegistry
from keiko_desktop.core.tools.service import ToolService

__all__ = [
    "ApprovalAnswer",
    "ApprovalBroker",
    "ApprovalOutcome",
    "ApprovalRequest",
    "Approver",
    "AuditEntry",
    "Decision",
    "McpConfigError",
    "McpServerStatusChanged",
    "McpToolsChanged",
    "Note",
    "Policy",
    "PolicyBook",
    "Redactor",
    "SecretStoreError",
    "ServerState",
    "ServerStatus",
    "ServerUnavailableError",
    "ToolApprovalRequested",
    "ToolCall",
    "ToolCallError",
    "ToolError",
    "ToolExecuted",
    "ToolNotFoundError",
    "ToolRegistry",
    "ToolResult",
    "ToolService",
    "ToolSpec",
    "ToolTimeoutError",
    "default_policy",
]
