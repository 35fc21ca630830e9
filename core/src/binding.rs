//! A device speaks for one agent (PRODUCT.md §12.2): which chained events
//! a device enrolled for an agent may carry.
//!
//! The rule is one table by event type, applied to the canonical encoding
//! an event's hash covers (the only form that crosses the wire), so the
//! server's import, the enrolled device's own refusal to record, and
//! `device enrol`'s look at the outbox judge every event the same way:
//!
//! | event type | allowed when |
//! | --- | --- |
//! | `attendance` | `agent` is the device's agent |
//! | `consent` | `subject` is the agent |
//! | `restriction` | `subject` is the agent or one of the agent's leads |
//! | `privacy_request` | about the agent, or one of the agent's leads |
//! | `privacy_request_done` | completes such a request |
//! | `lead_activity`, `transaction` | `agent` is the agent, on a lead that is not another agent's |
//! | `config_applied` | always (the device applying its server's configuration) |
//! | anything else (reviews, flags and flag ends, policy versions, names, key rotations) | never |

use std::collections::HashMap;

use serde_json::Value;

use crate::error::Result;
use crate::privacy::{DataSubject, SubjectKind};

/// The event type a device chains when it applies its server's
/// configuration (`store::config`).
pub const CONFIG_APPLIED: &str = "config_applied";

/// What the binding needs to know that the event itself does not say: who
/// owns a lead and whom a request was about, as the judging store holds
/// them (imported from the agent's devices, or recorded on the device).
pub trait Holdings {
    /// The agent owning `lead_id`, if the store knows the lead.
    fn lead_owner(&self, lead_id: &str) -> Result<Option<String>>;
    /// The subject of the privacy request `request_id`, if known.
    fn request_subject(&self, request_id: &str) -> Result<Option<DataSubject>>;
}

/// Judges the events of one device's chain, in chain order, against the
/// agent it is enrolled for. Leads and requests created by earlier events
/// of the same run count as known.
pub struct Binding<'a> {
    agent: &'a str,
    leads: HashMap<String, String>,
    requests: HashMap<String, DataSubject>,
}

impl<'a> Binding<'a> {
    pub fn new(agent: &'a str) -> Self {
        Binding {
            agent,
            leads: HashMap::new(),
            requests: HashMap::new(),
        }
    }

    pub fn agent(&self) -> &str {
        self.agent
    }

    /// `Ok(None)` when the device may carry the event, else `Ok(Some(why))`.
    /// An event purged on the device before sync (no content) carries
    /// nothing and is allowed: only its links travel.
    pub fn judge(
        &mut self,
        event_type: &str,
        canonical: Option<&str>,
        holdings: &dyn Holdings,
    ) -> Result<Option<String>> {
        let Some(canonical) = canonical else {
            return Ok(None);
        };
        let value: Value = match serde_json::from_str(canonical) {
            Ok(v) => v,
            Err(_) => return Ok(Some("its content is not JSON".into())),
        };
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        let agent = self.agent;
        let another = |whose: &str| Some(format!("it is about agent {whose}, not {agent}"));
        Ok(match event_type {
            "attendance" | "consent" => {
                let key = if event_type == "attendance" {
                    "agent"
                } else {
                    "subject"
                };
                match field(key) {
                    Some(a) if a == agent => None,
                    Some(other) => another(other),
                    None => Some(format!("it names no {key}")),
                }
            }
            "restriction" => match field("subject") {
                Some(s) if s == agent => None,
                Some(s) => self.lead_problem(s, holdings)?,
                None => Some("it names no subject".into()),
            },
            "privacy_request" => {
                let subject = match (field("subject_kind"), field("subject")) {
                    (Some("lead"), Some(id)) => DataSubject::lead(id),
                    (Some("agent") | None, Some(id)) => DataSubject::agent(id),
                    _ => return Ok(Some("it names no subject".into())),
                };
                let problem = self.subject_problem(&subject, holdings)?;
                if problem.is_none()
                    && let Some(id) = field("id")
                {
                    self.requests.insert(id.to_string(), subject);
                }
                problem
            }
            "privacy_request_done" => {
                let Some(request) = field("request_id") else {
                    return Ok(Some("it names no request".into()));
                };
                let subject = match self.requests.get(request) {
                    Some(s) => Some(s.clone()),
                    None => holdings.request_subject(request)?,
                };
                match subject {
                    Some(s) => self.subject_problem(&s, holdings)?,
                    None => Some(format!(
                        "it completes request {request}, which this device never sent"
                    )),
                }
            }
            "lead_activity" | "transaction" => {
                let lead = field("lead_id");
                match field("agent") {
                    Some(a) if a == agent => {
                        let problem = match lead {
                            Some(lead) => self.foreign_lead(lead, holdings)?,
                            None => None,
                        };
                        if problem.is_none()
                            && event_type == "lead_activity"
                            && field("action") == Some("created")
                            && let Some(lead) = lead
                        {
                            self.leads.insert(lead.to_string(), agent.to_string());
                        }
                        problem
                    }
                    Some(other) => another(other),
                    None => Some("it names no agent".into()),
                }
            }
            CONFIG_APPLIED => None,
            other => Some(format!(
                "a {other} event is a supervisor's, an admin's or the server's act, never a device's"
            )),
        })
    }

    fn subject_problem(
        &self,
        subject: &DataSubject,
        holdings: &dyn Holdings,
    ) -> Result<Option<String>> {
        Ok(match subject.kind {
            SubjectKind::Agent if subject.id == self.agent => None,
            SubjectKind::Agent => Some(format!(
                "it is about agent {}, not {}",
                subject.id, self.agent
            )),
            SubjectKind::Lead => self.lead_problem(&subject.id, holdings)?,
        })
    }

    /// A lead subject must be one of the agent's own leads.
    fn lead_problem(&self, lead: &str, holdings: &dyn Holdings) -> Result<Option<String>> {
        Ok(match self.owner(lead, holdings)? {
            Some(owner) if owner == self.agent => None,
            Some(owner) => Some(format!(
                "lead {lead} is agent {owner}'s, not {}'s",
                self.agent
            )),
            None => Some(format!(
                "it is about {lead}, which is neither agent {} nor one of their leads",
                self.agent
            )),
        })
    }

    /// Activity may concern a lead the store does not know yet (its creation
    /// purged on the device), never another agent's.
    fn foreign_lead(&self, lead: &str, holdings: &dyn Holdings) -> Result<Option<String>> {
        Ok(match self.owner(lead, holdings)? {
            Some(owner) if owner != self.agent => Some(format!(
                "lead {lead} is agent {owner}'s, not {}'s",
                self.agent
            )),
            _ => None,
        })
    }

    fn owner(&self, lead: &str, holdings: &dyn Holdings) -> Result<Option<String>> {
        Ok(match self.leads.get(lead) {
            Some(owner) => Some(owner.clone()),
            None => holdings.lead_owner(lead)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Known;
    impl Holdings for Known {
        fn lead_owner(&self, lead_id: &str) -> Result<Option<String>> {
            Ok(match lead_id {
                "lead-of-ani" => Some("ani".into()),
                "lead-of-joko" => Some("joko".into()),
                _ => None,
            })
        }
        fn request_subject(&self, request_id: &str) -> Result<Option<DataSubject>> {
            Ok((request_id == "req-joko").then(|| DataSubject::agent("joko")))
        }
    }

    fn judge(binding: &mut Binding<'_>, event_type: &str, body: Value) -> Option<String> {
        binding
            .judge(event_type, Some(&body.to_string()), &Known)
            .unwrap()
    }

    #[test]
    fn own_events_pass_and_another_agents_are_refused_by_type() {
        let mut b = Binding::new("ani");
        assert_eq!(judge(&mut b, "attendance", json!({"agent": "ani"})), None);
        assert!(
            judge(&mut b, "attendance", json!({"agent": "joko"}))
                .unwrap()
                .contains("joko")
        );
        assert_eq!(judge(&mut b, "consent", json!({"subject": "ani"})), None);
        assert!(judge(&mut b, "consent", json!({"subject": "joko"})).is_some());
        assert_eq!(
            judge(&mut b, "restriction", json!({"subject": "ani"})),
            None
        );
        assert_eq!(
            judge(&mut b, "restriction", json!({"subject": "lead-of-ani"})),
            None
        );
        assert!(judge(&mut b, "restriction", json!({"subject": "lead-of-joko"})).is_some());
        assert!(judge(&mut b, "restriction", json!({"subject": "joko"})).is_some());
        for never in [
            "review",
            "flag",
            "flag_end",
            "policy",
            "agent_name",
            "key_rotation",
        ] {
            let why = judge(&mut b, never, json!({"agent": "ani"})).unwrap();
            assert!(why.contains("never a device's"), "{never}: {why}");
        }
        assert_eq!(judge(&mut b, CONFIG_APPLIED, json!({})), None);
        // Purged on the device: links only, nothing to judge.
        assert_eq!(b.judge("attendance", None, &Known).unwrap(), None);
    }

    #[test]
    fn leads_are_the_agents_own_including_one_created_in_the_same_run() {
        let mut b = Binding::new("ani");
        let activity = |lead: &str, agent: &str, action: &str| json!({"lead_id": lead, "agent": agent, "action": action});
        assert_eq!(
            judge(
                &mut b,
                "lead_activity",
                activity("new-lead", "ani", "created")
            ),
            None
        );
        assert_eq!(
            judge(
                &mut b,
                "transaction",
                json!({"agent": "ani", "lead_id": "new-lead"})
            ),
            None
        );
        assert_eq!(
            judge(&mut b, "restriction", json!({"subject": "new-lead"})),
            None
        );
        assert!(
            judge(
                &mut b,
                "lead_activity",
                activity("lead-of-joko", "ani", "updated")
            )
            .is_some()
        );
        assert!(judge(&mut b, "lead_activity", activity("x", "joko", "created")).is_some());
        assert!(
            judge(
                &mut b,
                "transaction",
                json!({"agent": "ani", "lead_id": "lead-of-joko"})
            )
            .is_some()
        );
        assert_eq!(
            judge(
                &mut b,
                "transaction",
                json!({"agent": "ani", "lead_id": null})
            ),
            None
        );
        assert!(
            judge(
                &mut b,
                "transaction",
                json!({"agent": "joko", "lead_id": null})
            )
            .is_some()
        );
    }

    #[test]
    fn requests_and_their_completions_follow_their_subject() {
        let mut b = Binding::new("ani");
        let request = |id: &str, kind: &str, subject: &str| json!({"id": id, "subject_kind": kind, "subject": subject});
        assert_eq!(
            judge(&mut b, "privacy_request", request("r1", "agent", "ani")),
            None
        );
        assert_eq!(
            judge(&mut b, "privacy_request_done", json!({"request_id": "r1"})),
            None
        );
        assert_eq!(
            judge(
                &mut b,
                "privacy_request",
                request("r2", "lead", "lead-of-ani")
            ),
            None
        );
        assert!(judge(&mut b, "privacy_request", request("r3", "agent", "joko")).is_some());
        assert!(
            judge(
                &mut b,
                "privacy_request",
                request("r4", "lead", "lead-of-joko")
            )
            .is_some()
        );
        assert!(
            judge(
                &mut b,
                "privacy_request_done",
                json!({"request_id": "req-joko"})
            )
            .is_some()
        );
        assert!(
            judge(
                &mut b,
                "privacy_request_done",
                json!({"request_id": "nobody"})
            )
            .is_some()
        );
    }
}
