"""ToolsPresenter: feeds Settings > Tools (``ToolsDialog``) from the ``ToolService`` and carries
out what the user asks there: switch a server on or off, set a tool's policy, reload.

The dialog stays passive; every core call runs here, in a task of this presenter's
``TaskRunner`` (a failure the user can act on is shown in the dialog).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.core.tools.sampling import SamplingPolicy
from keiko_desktop.core.tools.sampling_service import SamplingService
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.task_runner import TaskRunner

AUDIT_ROWS = 200


class ToolsPresenter(QObject):
    """Connects a ``ToolsDialog`` to a ``ToolService``; lives (and goes) with the dialog."""

    def __init__(
        self, dialog: ToolsDialog, service: ToolService, sampling: SamplingService | None = None
    ) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.service = service
        self.sampling = sampling
        """Servers' sampling policies, shown and set in the Servers tab."""
        self.tasks = TaskRunner(self._show_error)
        dialog.server_enabled_changed.connect(self._on_dialog_server_enabled_changed)
        dialog.policy_changed.connect(self._on_dialog_policy_changed)
        dialog.refresh_requested.connect(self._on_dialog_refresh_requested)
        dialog.sign_in_button.sign_in_requested.connect(self._on_dialog_sign_in_requested)
        dialog.sign_in_button.sign_out_requested.connect(self._on_dialog_sign_out_requested)
        dialog.sampling_policy_changed.connect(self._on_dialog_sampling_policy_changed)

    async def refresh(self) -> None:
        """Show the servers, the tools with their policies, and the latest audit rows."""
        self.dialog.clear_error()
        states = self.service.servers()
        self.dialog.set_servers(states)
        sign_in = getattr(self.service, "sign_in", None)
        if sign_in is not None:
            self.dialog.sign_in_button.set_states(
                {s.name: sign_in.sign_in_state(s.name) for s in states}
            )
        if self.sampling is not None:
            sampling = self.sampling
            self.dialog.set_sampling(
                {s.name: sampling.policy_for(s.name) for s in states if s.kind != "builtin"}
            )
        tools = self.service.tools(include_disabled=True, include_unusable=True)
        self.dialog.set_tools([(t, self.service.policy_for(t)) for t in tools])
        self.dialog.set_audit(await self.service.audit_log(AUDIT_ROWS))

    def request_refresh(self, _event: object = None) -> None:
        """Reload in the background; connect the bridge's server-status signal here."""
        self.tasks.spawn(self.refresh(), "refresh the tools page")

    def _on_dialog_refresh_requested(self) -> None:
        self.request_refresh()

    def _on_dialog_server_enabled_changed(self, server: str, enabled: bool) -> None:
        self.tasks.spawn(self._set_server_enabled(server, enabled), "switch a tool server")

    async def _set_server_enabled(self, server: str, enabled: bool) -> None:
        await self.service.set_server_enabled(server, enabled)
        await self.refresh()

    def _on_dialog_policy_changed(self, qualified_name: str, policy: str) -> None:
        self.tasks.spawn(
            self.service.set_policy(qualified_name, Policy(policy)), "set a tool's policy"
        )

    def _on_dialog_sign_in_requested(self, server: str) -> None:
        self.tasks.spawn(self._sign(server, True), "sign in to a tool server")

    def _on_dialog_sign_out_requested(self, server: str) -> None:
        self.tasks.spawn(self._sign(server, False), "sign out of a tool server")

    async def _sign(self, server: str, sign_in: bool) -> None:
        """Run the sign-in (a browser opens) or the sign-out, then show the new state."""
        port = self.service.sign_in
        if port is None:
            return
        self.dialog.sign_in_button.set_busy(server)
        try:
            await (port.sign_in(server) if sign_in else port.sign_out(server))
        finally:
            self.dialog.sign_in_button.set_busy(None)
            await self.refresh()

    def _on_dialog_sampling_policy_changed(self, server: str, policy: str) -> None:
        if self.sampling is not None:
            change = self.sampling.set_policy(server, SamplingPolicy(policy))
            self.tasks.spawn(change, "set a server's sampling policy")

    def _show_error(self, error: KeikoError) -> None:
        self.dialog.show_error(error)
