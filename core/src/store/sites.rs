//! Site storage. Import is all-or-nothing: the whole file is validated
//! before the first row is written, and written in one transaction.

use super::db::Transaction;
use chrono::{DateTime, Utc};
use serde::Serialize;

use std::sync::Arc;

use super::connection::Store;
use super::{feed, settings};
use crate::config_feed::{ConfigBody, SiteRow};
use crate::error::{Error, Result};
use crate::geofence::SiteIndex;
use crate::geofence::{GeoPoint, Site, parse_sites, sites_to_geojson};
use crate::types::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Sites that did not exist before.
    pub added: usize,
    /// Existing ids whose site was replaced.
    pub replaced: usize,
}

impl Store {
    /// Imports a GeoJSON FeatureCollection of sites (admin only).
    pub fn import_sites(
        &self,
        actor: &Actor,
        geojson: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportSummary> {
        actor.must_be_admin()?;
        let sites = parse_sites(geojson)?;
        let summary = self.write(|tx| {
            feed::refuse_if_enrolled(tx, "the sites")?;
            settings::bump_config_version(tx)?;
            let mut summary = ImportSummary {
                added: 0,
                replaced: 0,
            };
            let mut upsert = tx.prepare_cached(
                "INSERT INTO sites (id, name, feature, ref_lat, ref_lon, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   feature = excluded.feature, ref_lat = excluded.ref_lat,
                   ref_lon = excluded.ref_lon, imported_at = excluded.imported_at",
            )?;
            let mut exists =
                tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM sites WHERE id = ?1)")?;
            for site in &sites {
                let existed: bool = exists.query_row([&site.id], |r| r.get(0))?;
                if existed {
                    summary.replaced += 1;
                } else {
                    summary.added += 1;
                }
                upsert.execute((
                    &site.id,
                    &site.name,
                    site.to_feature_json(),
                    site.reference_point.lat,
                    site.reference_point.lon,
                    now.timestamp(),
                ))?;
            }
            drop((upsert, exists));
            // Phones need the list, not a diff.
            feed::append_global(tx, &ConfigBody::Sites(site_rows(tx)?))?;
            Ok(summary)
        })?;
        log::info!(
            "imported {} sites ({} new, {} replaced)",
            sites.len(),
            summary.added,
            summary.replaced
        );
        Ok(summary)
    }

    /// Every stored site, ordered by id.
    pub fn sites(&self) -> Result<Vec<Site>> {
        self.read(load_all)
    }

    /// Every stored site as one GeoJSON FeatureCollection.
    pub fn export_sites(&self) -> Result<String> {
        Ok(sites_to_geojson(&self.sites()?))
    }
}

/// Every stored site as the configuration feed carries it, by id.
pub(super) fn site_rows(tx: &Transaction<'_>) -> Result<Vec<SiteRow>> {
    let mut stmt =
        tx.prepare_cached("SELECT id, feature, ref_lat, ref_lon FROM sites ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(SiteRow {
            id: r.get(0)?,
            feature: r.get(1)?,
            ref_lat: r.get(2)?,
            ref_lon: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// Replaces every stored site with `rows` (a device applying its server's
/// list), each checked to be a site this build can read.
pub(super) fn replace_all(tx: &Transaction<'_>, rows: &[SiteRow], now: i64) -> Result<()> {
    settings::bump_config_version(tx)?;
    tx.execute("DELETE FROM sites", [])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO sites (id, name, feature, ref_lat, ref_lon, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for row in rows {
        let site = Site::from_feature_json(&row.feature)
            .map_err(|e| Error::invalid("sites", format!("site {} is unreadable: {e}", row.id)))?;
        if site.id != row.id {
            return Err(Error::invalid(
                "sites",
                format!("site {} names itself {}", row.id, site.id),
            ));
        }
        insert.execute((
            &row.id,
            &site.name,
            &row.feature,
            row.ref_lat,
            row.ref_lon,
            now,
        ))?;
    }
    Ok(())
}

pub(super) fn load_all(tx: &Transaction<'_>) -> Result<Vec<Site>> {
    let mut stmt =
        tx.prepare_cached("SELECT id, feature, ref_lat, ref_lon FROM sites ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    let mut sites = Vec::new();
    for row in rows {
        let (id, feature, lat, lon) = row?;
        let mut site = Site::from_feature_json(&feature)
            .map_err(|e| Error::Corrupt(format!("stored site {id} is unreadable: {e}")))?;
        // The reference point is fixed at import (PRODUCT.md §3 step 7).
        site.reference_point = GeoPoint { lat, lon };
        sites.push(site);
    }
    Ok(sites)
}

impl Store {
    /// The site index, built from the stored sites on first use.
    pub fn site_index(&self) -> Result<Arc<SiteIndex>> {
        self.read(|tx| self.site_index_in(tx))
    }

    /// The site index as `tx` sees it, built again only after a change of
    /// the configuration (by this process or any other on the store).
    pub(super) fn site_index_in(&self, tx: &Transaction<'_>) -> Result<Arc<SiteIndex>> {
        let version = settings::config_version(tx)?;
        if let Ok(slot) = self.sites.read()
            && let Some((built_at, index)) = slot.as_ref()
            && *built_at == version
        {
            return Ok(index.clone());
        }
        let index = Arc::new(SiteIndex::new(load_all(tx)?));
        if let Ok(mut slot) = self.sites.write() {
            *slot = Some((version, index.clone()));
        }
        Ok(index)
    }
}
