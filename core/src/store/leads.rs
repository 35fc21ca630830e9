//! Leads and transactions in SQLite. Each create or change appends one
//! chained activity row; `leads` holds the current fold for listing.

use super::db::{OptionalExtension, Row, Transaction as SqlTx};
use super::sealing;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::chain;
use super::connection::Store;
use crate::error::{Error, Result};
use crate::leads::{
    Lead, LeadAction, LeadActivity, LeadStatus, LeadUpdate, NewLead, NewTransaction, Transaction,
    TxnKind, validate_text,
};
use crate::money;
use crate::personal::PersonalFields;
use crate::time::{from_unix, whole_second};
use crate::types::{Actor, Role, validate_id};

const LEAD_COLUMNS: &str = "id, agent, status, customer_name, phone, email, product, source, \
                            notes, created_at, updated_at, erased";
const ACTIVITY_COLUMNS: &str = "id, seq, lead_id, agent, action, status, product, source, txn_id, \
                                digests, sealed, at, actor_id, actor_role";
const TXN_COLUMNS: &str = "id, seq, agent, lead_id, kind, policy_number, product, amount_minor, \
                           currency, occurred_at, recorded_at, actor_id, actor_role";

/// Which leads to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    pub agent: Option<String>,
    pub status: Option<LeadStatus>,
}

impl Store {
    /// Creates a lead owned by `lead.agent` (the agent, or an admin for them).
    pub fn add_lead(&self, actor: &Actor, lead: &NewLead, now: DateTime<Utc>) -> Result<Lead> {
        validate_id("agent", &lead.agent)?;
        actor.may_act_for_agent(&lead.agent)?;
        validate_text("name", &lead.customer_name, 256)?;
        validate_contact(&lead.phone, &lead.email)?;
        validate_optional_text("product", &lead.product)?;
        validate_optional_text("source", &lead.source)?;
        validate_optional_text("note", &lead.note)?;
        let now = whole_second(now);
        let personal = seal(
            Some(&lead.customer_name),
            &lead.phone,
            &lead.email,
            &lead.note,
        );
        let lead_id = Uuid::now_v7().to_string();
        self.write(|tx| {
            let activity = append_activity(
                tx,
                LeadActivity {
                    id: Uuid::now_v7().to_string(),
                    seq: 0,
                    lead_id: lead_id.clone(),
                    agent: lead.agent.clone(),
                    action: LeadAction::Created,
                    status: Some(LeadStatus::New),
                    product: lead.product.clone(),
                    source: lead.source.clone(),
                    txn_id: None,
                    personal,
                    at: now,
                    actor: actor.clone(),
                },
            )?;
            let notes: Vec<&str> = activity.personal.get("note").into_iter().collect();
            let sealed = SealedLead::seal(
                tx,
                &lead_id,
                Some(&lead.customer_name),
                lead.phone.as_deref(),
                lead.email.as_deref(),
                &notes,
            )?;
            tx.prepare_cached(&format!(
                "INSERT INTO leads ({LEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 0)"
            ))?
            .execute(super::db::params![
                lead_id,
                lead.agent,
                LeadStatus::New.as_str(),
                sealed.customer_name,
                sealed.phone,
                sealed.email,
                lead.product,
                lead.source,
                sealed.notes,
                now.timestamp(),
            ])?;
            load_lead(tx, &lead_id)?.ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))
        })
    }

    /// Changes a lead's fields or status. Statuses move forward or to
    /// `lost`; `won` needs a `policy_closing` transaction for the lead.
    pub fn update_lead(
        &self,
        actor: &Actor,
        lead_id: &str,
        update: &LeadUpdate,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        validate_id("lead", lead_id)?;
        if update.is_empty() {
            return Err(Error::invalid("update", "nothing to change"));
        }
        if let Some(name) = &update.customer_name {
            validate_text("name", name, 256)?;
        }
        validate_contact(&update.phone, &update.email)?;
        validate_optional_text("product", &update.product)?;
        validate_optional_text("source", &update.source)?;
        validate_optional_text("note", &update.note)?;
        let now = whole_second(now);
        self.write(|tx| {
            let lead = load_lead(tx, lead_id)?
                .ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))?;
            actor.may_act_for_agent(&lead.agent)?;
            refuse_if_restricted(tx, actor, lead_id)?;
            if lead.erased {
                return Err(Error::invalid(
                    "lead",
                    "this lead's personal data has been erased",
                ));
            }
            let mut txn_id = None;
            if let Some(to) = update.status {
                lead.status.check_move(to)?;
                if to == LeadStatus::Won && lead.status != LeadStatus::Won {
                    txn_id = tx
                        .prepare_cached(
                            "SELECT id FROM transactions WHERE lead_id = ?1 AND kind = ?2
                             ORDER BY seq LIMIT 1",
                        )?
                        .query_row((lead_id, TxnKind::PolicyClosing.as_str()), |r| {
                            r.get::<_, String>(0)
                        })
                        .optional()?;
                    if txn_id.is_none() {
                        return Err(Error::invalid(
                            "status",
                            "a lead is won only with a policy_closing transaction for it \
                             (txn add --kind policy_closing --lead ID first)",
                        ));
                    }
                }
            }
            let status = update.status.filter(|s| *s != lead.status);
            let personal = seal(
                update.customer_name.as_ref(),
                &update.phone,
                &update.email,
                &update.note,
            );
            append_activity(
                tx,
                LeadActivity {
                    id: Uuid::now_v7().to_string(),
                    seq: 0,
                    lead_id: lead_id.to_string(),
                    agent: lead.agent.clone(),
                    action: LeadAction::Updated,
                    status,
                    product: update.product.clone(),
                    source: update.source.clone(),
                    txn_id,
                    personal,
                    at: now,
                    actor: actor.clone(),
                },
            )?;
            let mut notes = lead.notes.clone();
            notes.extend(update.note.clone());
            let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
            let sealed = SealedLead::seal(
                tx,
                lead_id,
                update.customer_name.as_deref(),
                update.phone.as_deref(),
                update.email.as_deref(),
                &notes,
            )?;
            tx.prepare_cached(
                "UPDATE leads SET status = ?2, customer_name = COALESCE(?3, customer_name),
                   phone = COALESCE(?4, phone), email = COALESCE(?5, email),
                   product = COALESCE(?6, product), source = COALESCE(?7, source),
                   notes = ?8, updated_at = ?9
                 WHERE id = ?1",
            )?
            .execute(super::db::params![
                lead_id,
                status.unwrap_or(lead.status).as_str(),
                sealed.customer_name,
                sealed.phone,
                sealed.email,
                update.product,
                update.source,
                sealed.notes,
                now.timestamp(),
            ])?;
            load_lead(tx, lead_id)?.ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))
        })
    }

    /// Leads, oldest first. Agents see only their own; supervisors and
    /// admins everyone's.
    pub fn leads(&self, actor: &Actor, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let agent = actor.own_scope(filter.agent.as_deref(), "leads")?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads
                 WHERE (CAST(?1 AS TEXT) IS NULL OR agent = ?1) AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
                 ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map(
                (agent.as_deref(), filter.status.map(LeadStatus::as_str)),
                |r| Ok(lead_from_row(tx, r)),
            )?;
            rows.map(|r| r?).collect()
        })
    }

    pub fn lead(&self, actor: &Actor, lead_id: &str) -> Result<Lead> {
        let lead = self
            .read(|tx| load_lead(tx, lead_id))?
            .ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))?;
        may_read_agent(actor, &lead.agent)?;
        Ok(lead)
    }

    /// Every version of a lead: who changed what, and when.
    pub fn lead_history(&self, actor: &Actor, lead_id: &str) -> Result<Vec<LeadActivity>> {
        self.lead(actor, lead_id)?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ACTIVITY_COLUMNS} FROM lead_activity WHERE lead_id = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([lead_id], |r| Ok(activity_from_row(tx, r)))?;
            rows.map(|r| r?).collect()
        })
    }

    /// Records a transaction. Amounts are decimal strings converted to
    /// integer minor units by the currency's ISO 4217 exponent.
    pub fn add_transaction(
        &self,
        actor: &Actor,
        txn: &NewTransaction,
        now: DateTime<Utc>,
    ) -> Result<Transaction> {
        validate_id("agent", &txn.agent)?;
        actor.may_act_for_agent(&txn.agent)?;
        validate_text("policy_number", &txn.policy_number, 64)?;
        validate_text("product", &txn.product, 256)?;
        let amount_minor = money::parse_amount(&txn.amount, &txn.currency)?;
        let amount = money::format_minor(amount_minor, &txn.currency)?;
        if let Some(lead) = &txn.lead_id {
            validate_id("lead", lead)?;
        }
        let now = whole_second(now);
        self.write(|tx| {
            if let Some(lead_id) = &txn.lead_id {
                let lead = load_lead(tx, lead_id)?
                    .ok_or_else(|| Error::NotFound(format!("lead {lead_id}")))?;
                if lead.agent != txn.agent {
                    return Err(Error::invalid(
                        "lead",
                        format!("lead {lead_id} belongs to another agent"),
                    ));
                }
                refuse_if_restricted(tx, actor, lead_id)?;
            }
            let record = chain::append_event(tx, |seq| {
                Ok(Transaction {
                    id: Uuid::now_v7().to_string(),
                    seq,
                    agent: txn.agent.clone(),
                    lead_id: txn.lead_id.clone(),
                    kind: txn.kind,
                    policy_number: txn.policy_number.clone(),
                    product: txn.product.clone(),
                    amount_minor,
                    amount: amount.clone(),
                    currency: txn.currency.clone(),
                    occurred_at: whole_second(txn.occurred_at.unwrap_or(now)),
                    recorded_at: now,
                    actor: actor.clone(),
                })
            })?;
            tx.prepare_cached(&format!(
                "INSERT INTO transactions ({TXN_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))?
            .execute(super::db::params![
                record.id,
                record.seq,
                record.agent,
                record.lead_id,
                record.kind.as_str(),
                record.policy_number,
                record.product,
                record.amount_minor,
                record.currency,
                record.occurred_at.timestamp(),
                record.recorded_at.timestamp(),
                record.actor.id,
                record.actor.role.as_str(),
            ])?;
            Ok(record)
        })
    }

    /// Transactions, in the order they occurred.
    pub fn transactions(&self, actor: &Actor, agent: Option<&str>) -> Result<Vec<Transaction>> {
        let agent = actor.own_scope(agent, "transactions")?;
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {TXN_COLUMNS} FROM transactions WHERE (CAST(?1 AS TEXT) IS NULL OR agent = ?1)
                 ORDER BY occurred_at, seq"
            ))?;
            let rows = stmt.query_map([agent.as_deref()], |r| Ok(txn_from_row(r)))?;
            rows.map(|r| r?).collect()
        })
    }
}

/// A lead whose customer restricted processing is kept but not worked on
/// (PRODUCT.md §8); admins may still rectify it.
fn refuse_if_restricted(tx: &SqlTx<'_>, actor: &Actor, lead_id: &str) -> Result<()> {
    if actor.role != Role::Admin && super::restriction::is_restricted(tx, lead_id)? {
        return Err(Error::PermissionDenied(format!(
            "processing of lead {lead_id} is restricted at its customer's request"
        )));
    }
    Ok(())
}

fn may_read_agent(actor: &Actor, agent: &str) -> Result<()> {
    actor.own_scope(Some(agent), "records").map(|_| ())
}

fn validate_optional_text(field: &str, value: &Option<String>) -> Result<()> {
    match value {
        Some(v) => validate_text(field, v, 4096),
        None => Ok(()),
    }
}

/// Light checks only: people type phone numbers and addresses in many
/// forms, and a lead must not be lost to an over-strict pattern.
fn validate_contact(phone: &Option<String>, email: &Option<String>) -> Result<()> {
    if let Some(phone) = phone {
        validate_text("phone", phone, 64)?;
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || digits < 3 {
            return Err(Error::invalid(
                "phone",
                "use digits with optional + - ( ) . and spaces",
            ));
        }
    }
    if let Some(email) = email {
        validate_text("email", email, 254)?;
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
        if !valid || email.chars().any(char::is_whitespace) {
            return Err(Error::invalid(
                "email",
                format!("{email:?} is not an e-mail address"),
            ));
        }
    }
    Ok(())
}

fn seal(
    name: Option<&String>,
    phone: &Option<String>,
    email: &Option<String>,
    note: &Option<String>,
) -> PersonalFields {
    let fields = [
        ("customer_name", name),
        ("phone", phone.as_ref()),
        ("email", email.as_ref()),
        ("note", note.as_ref()),
    ];
    PersonalFields::seal(
        fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.as_str()))),
    )
}

fn append_activity(tx: &SqlTx<'_>, activity: LeadActivity) -> Result<LeadActivity> {
    let activity = chain::append_event(tx, |seq| Ok(LeadActivity { seq, ..activity }))?;
    insert_activity(tx, &activity)?;
    Ok(activity)
}

pub(super) fn insert_activity(tx: &SqlTx<'_>, a: &LeadActivity) -> Result<()> {
    let sealed = sealing::LEAD_FIELDS.seal_personal(
        tx,
        sealing::Subject::lead(&a.lead_id),
        &a.id,
        &a.personal,
    )?;
    tx.prepare_cached(&format!(
        "INSERT INTO lead_activity ({ACTIVITY_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?
    .execute(super::db::params![
        a.id,
        a.seq,
        a.lead_id,
        a.agent,
        a.action.as_str(),
        a.status.map(LeadStatus::as_str),
        a.product,
        a.source,
        a.txn_id,
        a.personal.digests_column(),
        sealed,
        a.at.timestamp(),
        a.actor.id,
        a.actor.role.as_str(),
    ])?;
    Ok(())
}

fn corrupt(e: Error) -> Error {
    Error::Corrupt(format!("stored lead data is unreadable: {e}"))
}

pub(super) fn load_lead(tx: &SqlTx<'_>, id: &str) -> Result<Option<Lead>> {
    tx.prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"))?
        .query_row([id], |r| Ok(lead_from_row(tx, r)))
        .optional()?
        .transpose()
}

/// A lead's personal columns as stored (sealed where the store seals).
struct SealedLead {
    customer_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    notes: String,
}

impl SealedLead {
    fn seal(
        tx: &super::db::Transaction<'_>,
        lead_id: &str,
        customer_name: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        notes: &[&str],
    ) -> Result<SealedLead> {
        let subject = sealing::Subject::lead(lead_id);
        let notes = if notes.is_empty() {
            sealing::NO_NOTES.to_string()
        } else {
            sealing::LEAD_NOTES.seal_text(tx, subject, lead_id, &serde_json::to_string(notes)?)?
        };
        Ok(SealedLead {
            customer_name: sealing::LEAD_NAME.seal_optional(tx, subject, lead_id, customer_name)?,
            phone: sealing::LEAD_PHONE.seal_optional(tx, subject, lead_id, phone)?,
            email: sealing::LEAD_EMAIL.seal_optional(tx, subject, lead_id, email)?,
            notes,
        })
    }
}

fn lead_from_row(tx: &super::db::Transaction<'_>, r: &Row<'_>) -> Result<Lead> {
    let status: String = r.get(2)?;
    let id: String = r.get(0)?;
    let notes: String = r.get(8)?;
    let notes = if notes == sealing::NO_NOTES {
        Vec::new()
    } else {
        match sealing::LEAD_NOTES.open_text(tx, &id, &notes)? {
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(e.into()))?,
            None => Vec::new(),
        }
    };
    Ok(Lead {
        customer_name: sealing::LEAD_NAME.open_optional(tx, &id, r.get(3)?)?,
        phone: sealing::LEAD_PHONE.open_optional(tx, &id, r.get(4)?)?,
        email: sealing::LEAD_EMAIL.open_optional(tx, &id, r.get(5)?)?,
        id,
        agent: r.get(1)?,
        status: LeadStatus::parse("status", &status).map_err(corrupt)?,
        product: r.get(6)?,
        source: r.get(7)?,
        notes,
        created_at: from_unix("created_at", r.get(9)?).map_err(corrupt)?,
        updated_at: from_unix("updated_at", r.get(10)?).map_err(corrupt)?,
        erased: r.get(11)?,
    })
}

pub(super) fn activity_from_row(
    tx: &super::db::Transaction<'_>,
    r: &Row<'_>,
) -> Result<LeadActivity> {
    let action: String = r.get(4)?;
    let id: String = r.get(0)?;
    let status: Option<String> = r.get(5)?;
    let role: String = r.get(13)?;
    let digests: String = r.get(9)?;
    let sealed: String = r.get(10)?;
    Ok(LeadActivity {
        personal: sealing::LEAD_FIELDS.open_personal(tx, &id, &digests, &sealed)?,
        id,
        seq: r.get(1)?,
        lead_id: r.get(2)?,
        agent: r.get(3)?,
        action: LeadAction::parse("action", &action).map_err(corrupt)?,
        status: status
            .map(|s| LeadStatus::parse("status", &s))
            .transpose()
            .map_err(corrupt)?,
        product: r.get(6)?,
        source: r.get(7)?,
        txn_id: r.get(8)?,
        at: from_unix("at", r.get(11)?).map_err(corrupt)?,
        actor: Actor::new(
            r.get::<_, String>(12)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}

pub(super) fn txn_from_row(r: &Row<'_>) -> Result<Transaction> {
    let kind: String = r.get(4)?;
    let role: String = r.get(12)?;
    let currency: String = r.get(8)?;
    let amount_minor: i64 = r.get(7)?;
    Ok(Transaction {
        id: r.get(0)?,
        seq: r.get(1)?,
        agent: r.get(2)?,
        lead_id: r.get(3)?,
        kind: TxnKind::parse("kind", &kind).map_err(corrupt)?,
        policy_number: r.get(5)?,
        product: r.get(6)?,
        amount_minor,
        amount: money::format_minor(amount_minor, &currency).map_err(corrupt)?,
        currency,
        occurred_at: from_unix("occurred_at", r.get(9)?).map_err(corrupt)?,
        recorded_at: from_unix("recorded_at", r.get(10)?).map_err(corrupt)?,
        actor: Actor::new(
            r.get::<_, String>(11)?,
            Role::parse("actor_role", &role).map_err(corrupt)?,
        ),
    })
}

/// For `verify`: the activity's canonical encoding and any personal field
/// that no longer matches its digest.
pub(super) fn activity_for_verify(
    tx: &SqlTx<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let found = tx
        .prepare_cached(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM lead_activity WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok(activity_from_row(tx, r)))
        .optional()?
        .transpose()?;
    Ok(found.map(|a| (a.canonical(), a.personal.mismatch())))
}

pub(super) fn txn_for_verify(
    tx: &SqlTx<'_>,
    id: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let found = tx
        .prepare_cached(&format!(
            "SELECT {TXN_COLUMNS} FROM transactions WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok(txn_from_row(r)))
        .optional()?
        .transpose()?;
    Ok(found.map(|t| (t.canonical(), None)))
}
