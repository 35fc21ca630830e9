//! Which agents a read covers, as SQL: everyone, one agent (a seek on the
//! agent's index) or a team (one statement for all of it, each agent a
//! seek), so a supervisor's page costs a few statements, not a few per
//! agent: on PostgreSQL each statement is a round trip.

use rusqlite::types::Value;

/// The most agents a team read takes in one statement: each is a seek,
/// and the parameters stay well under both engines' limits. Past it, a
/// read goes by chunks, or over everyone in one pass.
pub(super) const TEAM_AT_MOST: usize = 512;

/// The agents a read covers.
#[derive(Clone, Copy, Debug)]
pub(super) enum AgentScope<'a> {
    Everyone,
    One(&'a str),
    /// Not empty (an empty team reads nothing: callers answer it first).
    Team(&'a [String]),
}

impl<'a> AgentScope<'a> {
    pub(super) fn of(agent: Option<&'a str>) -> AgentScope<'a> {
        agent.map_or(AgentScope::Everyone, AgentScope::One)
    }

    /// ` AND {column} …` restricting a statement to this scope, its
    /// parameters appended to `params` (numbered after those already
    /// there); empty for everyone.
    pub(super) fn and_in(&self, column: &str, params: &mut Vec<Value>) -> String {
        match self {
            AgentScope::Everyone => String::new(),
            AgentScope::One(agent) => {
                params.push(Value::Text(agent.to_string()));
                format!(" AND {column} = ?{}", params.len())
            }
            AgentScope::Team(team) => format!(" AND {column} IN ({})", team_rows(team, params)),
        }
    }
}

/// `team` as rows of one column (`column1`), its agents appended to
/// `params`; padded to a power of two by repeating the last, so a few
/// statement texts serve every team, each prepared once.
pub(super) fn team_rows(team: &[String], params: &mut Vec<Value>) -> String {
    let first = params.len() + 1;
    let n = team.len().max(1).next_power_of_two();
    let last = team.last().map(String::as_str).unwrap_or("");
    params
        .extend((0..n).map(|i| Value::Text(team.get(i).map_or(last, String::as_str).to_string())));
    agent_list(first, n)
}

/// What `agent IN (…)` takes for `n` agents from placeholder `?first`: a
/// subquery over a VALUES list, not a list of placeholders. PostgreSQL
/// hashes a list of constants, but a prepared statement's list holds
/// parameters, which its generic plan compares one by one against every
/// row: a 50-agent queue page took 28 ms; joined from the VALUES list each
/// agent is one index seek (2-3 ms). SQLite reads both alike.
fn agent_list(first: usize, n: usize) -> String {
    let rows: Vec<String> = (first..first + n).map(|i| format!("(?{i})")).collect();
    format!("SELECT column1 FROM (VALUES {}) AS team", rows.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_restricts_as_it_says() {
        let mut params = vec![Value::Integer(7)];
        assert_eq!(AgentScope::Everyone.and_in("agent", &mut params), "");
        assert_eq!(params.len(), 1);
        assert_eq!(
            AgentScope::One("a1").and_in("m.agent", &mut params),
            " AND m.agent = ?2"
        );
        assert_eq!(params[1], Value::Text("a1".into()));
        let team = ["a2".to_string(), "a3".to_string(), "a4".to_string()];
        let sql = AgentScope::Team(&team).and_in("agent", &mut params);
        assert_eq!(
            sql,
            " AND agent IN (SELECT column1 FROM (VALUES (?3), (?4), (?5), (?6)) AS team)"
        );
        let texts: Vec<&Value> = params[2..].iter().collect();
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(texts, [&text("a2"), &text("a3"), &text("a4"), &text("a4")]);
    }
}
