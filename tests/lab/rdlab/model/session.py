"""The logon session a command runs in, and what it can do beyond the host: the second hop.

A WinRM command runs in the logon session its connection authenticated. Whether code in that session can
reach another computer (a domain controller) as the caller depends on how the caller authenticated:

- NTLM, and Kerberos without delegation: a network logon. The host proved who the caller is but holds no
  credentials it could present to a third computer, so the hop to the domain controller goes without them.
- Basic: WinRM's Basic authentication takes local accounts only, and does not delegate (the authentication
  table of ansible's Windows Remote Management guide, docs.ansible.com windows_winrm.html; PSWSMan's
  about_PSWSManAuthentication). A local account has no identity on a domain controller.
- CredSSP, and Kerberos with delegation: the caller's credentials (or a forwardable ticket) reach the host,
  which can use them for the next hop (Microsoft, "Making the second hop in PowerShell Remoting",
  learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop: CredSSP and Kerberos
  delegation). The lab has neither protocol: a listener setting, `delegation`, stands in for them.
- become with runas as an account and its password: ansible's become_wrapper logs that account on
  (LogonUser, an interactive logon by default: ansible-core Ansible.Become.cs) and runs the module in the new
  session, which holds the credentials; ansible's guide names become as the way around the double hop
  (windows_winrm.html, "Limitations"). A network logon type (become_flags logon_type=network) holds none.
  become as SYSTEM reaches other computers as the host's computer account, which is in no admin group.

Which code Windows returns when a licensing method's hop carries no credentials is documented nowhere: the
lab answers 0x80070005 (E_ACCESSDENIED), ASSUMED (docs/fidelity.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .cim import ASSUMED

E_ACCESSDENIED = 0x80070005  # HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED); the second hop's refusal, ASSUMED
SYSTEM_NAMES = {"system", "nt authority\\system", "localsystem"}  # the names become_wrapper takes for SYSTEM
# become_wrapper's logon types (ansible-core runas become_flags) whose session holds no credentials.
NO_CREDENTIAL_LOGONS = {"network"}


@dataclass(frozen=True)
class Session:
    """How a command's caller is logged on. `authentication` is the WinRM scheme ("ntlm", "basic");
    `delegation` is the listener's stand-in for CredSSP or Kerberos delegation; `become` the account
    become_wrapper ran the module as, with `become_logon` its logon type."""

    authentication: str
    delegation: bool = False
    become: str | None = None
    become_logon: str = "Interactive"

    @property
    def as_system(self) -> bool:
        return self.become is not None and self.become.lower() in SYSTEM_NAMES

    def domain_identity(self) -> str:
        """Who a domain controller sees when code in this session reaches it: 'caller', 'computer' (the
        host's computer account) or 'none' (no credentials: the second hop)."""
        if self.become is not None:
            if self.as_system:
                return "computer"
            return "none" if self.become_logon.lower() in NO_CREDENTIAL_LOGONS else "caller"
        if self.delegation and self.authentication != "basic":
            return "caller"
        return "none"

    def summary(self) -> dict:
        """For the transcript: how the command was logged on, never a password."""
        return {"authentication": self.authentication, "delegation": self.delegation, "become": self.become,
                **({"become_logon": self.become_logon} if self.become else {})}


FIDELITY = [
    ("Logon session", "NTLM or Basic without become: a domain operation (ChangeRole 1 and 2, PublishLS, "
     "UnpublishLS, AddLStoTSLSGroup, RemoveLSfromTSLSGroup, IsLSinTSLSGroup) has no credentials for the domain "
     "controller", ASSUMED, "Microsoft's second-hop page for PowerShell remoting and ansible's WinRM guide document "
     "that NTLM and Basic do not delegate; that the licensing provider asks the domain controller as the caller "
     "(not as the computer account) is inferred from the method pages' Domain Admin requirement"),
    ("Logon session", "become as a bare user name (`Administrator`)", ASSUMED,
     "the lab treats it as the domain account it connected as; on Windows a bare name is a local logon (ansible's "
     "become gives it the domain \".\"), which has no identity on a domain controller: use DOMAIN\\user"),
    ("Logon session", "the ReturnValue of a domain operation whose hop carries no credentials", ASSUMED,
     "0x80070005 E_ACCESSDENIED; Windows's code is in no source"),
    ("Logon session", "become (runas) as the connecting account with its password; a listener with "
     "delegation: true", ASSUMED, "the session reaches the domain controller as the caller. The listener setting "
     "stands in for CredSSP and Kerberos delegation, which the lab does not speak"),
    ("Logon session", "become with an account or password the lab does not have", ASSUMED,
     "fails with LogonUser's 1326 in the words of ansible-core 2.19's exec wrapper for every core (2.15 to 2.18 "
     "word it otherwise); only become_flags logon_type is read"),
    ("Logon session", "become as SYSTEM", ASSUMED, "reaches the domain controller as the computer account, in no "
     "domain admin group: the domain privilege checks refuse it (0x80041003)"),
]
