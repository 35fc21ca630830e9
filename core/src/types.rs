//! Small shared vocabulary: who acts, what kind of event, which permission.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parses a stable snake_case code into an enum, naming `field` on failure.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(field: &str, value: &str) -> $crate::error::Result<Self> {
                match value {
                    $($code => Ok($name::$variant),)+
                    other => Err($crate::error::Error::invalid(
                        field,
                        format!("unknown value {other:?}; expected one of: {}",
                            [$($code),+].join(", ")),
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                $name::parse(stringify!($name), s)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// PRODUCT.md §1.
    Role { Agent => "agent", Supervisor => "supervisor", Admin => "admin" }
);

string_enum!(
    /// Which way an attendance event goes.
    EventKind { CheckIn => "check_in", CheckOut => "check_out" }
);

string_enum!(
    /// Permissions held in the consent ledger (PRODUCT.md §5).
    Permission { Location => "location", Push => "push" }
);

/// Who makes a call. Every mutating call names one (PRODUCT.md §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

impl Actor {
    pub fn new(id: impl Into<String>, role: Role) -> Self {
        Actor {
            id: id.into(),
            role,
        }
    }

    pub fn agent(id: impl Into<String>) -> Self {
        Actor::new(id, Role::Agent)
    }

    pub fn supervisor(id: impl Into<String>) -> Self {
        Actor::new(id, Role::Supervisor)
    }

    pub fn admin(id: impl Into<String>) -> Self {
        Actor::new(id, Role::Admin)
    }

    /// Agents act on their own records only; admins on anyone's behalf.
    pub fn may_act_for_agent(&self, agent: &str) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Agent if self.id == agent => Ok(()),
            Role::Agent => Err(Error::PermissionDenied(format!(
                "agent {} may not act for agent {agent}",
                self.id
            ))),
            Role::Supervisor => Err(Error::PermissionDenied(
                "supervisors review; they do not act on an agent's behalf".into(),
            )),
        }
    }

    /// Supervisors and admins may read and review everyone's records.
    pub fn may_supervise(&self) -> Result<()> {
        match self.role {
            Role::Supervisor | Role::Admin => Ok(()),
            Role::Agent => Err(Error::PermissionDenied(
                "only a supervisor or admin may do this".into(),
            )),
        }
    }

    /// Agents read only their own records; supervisors and admins anyone's.
    /// Returns the agent to filter by (`what` names the records refused).
    pub fn own_scope(&self, agent: Option<&str>, what: &str) -> Result<Option<String>> {
        match self.role {
            Role::Agent => match agent {
                Some(a) if a != self.id => Err(Error::PermissionDenied(format!(
                    "agents may list only their own {what}"
                ))),
                _ => Ok(Some(self.id.clone())),
            },
            Role::Supervisor | Role::Admin => Ok(agent.map(str::to_string)),
        }
    }

    pub fn must_be_admin(&self) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(Error::PermissionDenied("only an admin may do this".into())),
        }
    }
}

/// Validates an opaque identifier (agent, site, lead): non-empty, printable,
/// bounded, so it can enter hashes and file names safely.
pub fn validate_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if id.len() > 128 {
        return Err(Error::invalid(field, "longer than 128 bytes"));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}
