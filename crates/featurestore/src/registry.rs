//! The registry of Vertex AI resources the local feature store serves: one
//! `FeatureOnlineStore`, the `FeatureGroup` over the features table, one `Feature` per
//! column and the `FeatureView` that syncs them. It is one JSON file, rewritten atomically.
//!
//! What the resources hold is decided here; their online rows live in [`crate::online`].

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use fsdemo_core::config::FeatureStoreConfig;
use fsdemo_core::{FeatureSpec, FeatureType, ResourceNames};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, FileError};

/// The registry file's name inside the folder given to [`Registry::open`].
pub const REGISTRY_FILE: &str = "registry.json";

/// A registry problem, naming the file or resource and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry file could not be read or written.
    #[error("registry: {0}")]
    File(#[from] FileError),
    /// The configuration asks for a resource that cannot exist.
    #[error("registry: ensure {name}: {message} (fix configs/featurestore.yaml)")]
    Invalid { name: String, message: String },
}

/// A `FeatureOnlineStore`: where feature views are served from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureOnlineStore {
    /// Full name: `projects/P/locations/L/featureOnlineStores/S`.
    pub name: String,
    /// A human description.
    pub description: String,
    /// When it was created, RFC 3339 UTC.
    pub create_time: String,
    /// When it last changed, RFC 3339 UTC.
    pub update_time: String,
}

/// A `FeatureGroup`: a source table with one row per (entity, timestamp).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureGroup {
    /// Full name: `projects/P/locations/L/featureGroups/G`.
    pub name: String,
    /// A human description.
    pub description: String,
    /// The source table as `project.dataset.table`.
    pub source_table: String,
    /// The entity id column of the source table.
    pub entity_id_column: String,
    /// The snapshot time column of the source table.
    pub timestamp_column: String,
    /// When it was created, RFC 3339 UTC.
    pub create_time: String,
    /// When it last changed, RFC 3339 UTC.
    pub update_time: String,
}

/// A `Feature`: one column of a feature group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// Full name: `projects/P/locations/L/featureGroups/G/features/F`.
    pub name: String,
    /// Storage type, `INT64` or `FLOAT64`.
    pub value_type: FeatureType,
    /// What the feature means.
    pub description: String,
    /// When it was created, RFC 3339 UTC.
    pub create_time: String,
    /// When it last changed, RFC 3339 UTC.
    pub update_time: String,
}

/// A `FeatureView`: the features of a group that an online store serves, and when to sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureView {
    /// Full name: `projects/P/locations/L/featureOnlineStores/S/featureViews/V`.
    pub name: String,
    /// A human description.
    pub description: String,
    /// Full name of the [`FeatureGroup`] it serves.
    pub feature_group: String,
    /// The served features, in the order of every online row's values.
    pub features: Vec<FeatureSpec>,
    /// The sync schedule: five-field cron, UTC.
    pub sync_cron: String,
    /// When it was created, RFC 3339 UTC.
    pub create_time: String,
    /// When it last changed, RFC 3339 UTC.
    pub update_time: String,
}

impl FeatureView {
    /// The view id, the last part of its name.
    pub fn id(&self) -> &str {
        last_part(&self.name)
    }

    /// The full name of the online store that holds the view.
    pub fn online_store(&self) -> &str {
        self.name.split("/featureViews/").next().unwrap_or_default()
    }
}

/// What [`Registry::ensure`] did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnsureOutcome {
    /// It did not exist and was created.
    Created,
    /// It existed exactly as configured.
    Reused,
    /// It existed; a mutable field (description, sync cron) changed in place, keeping its
    /// create time, as Vertex AI's `patch` does.
    Updated,
    /// It existed with a field Vertex AI cannot patch (source table, columns, value type,
    /// the view's group or feature list), or `recreate` was asked: it was created anew.
    /// A replaced `FeatureView` holds online rows in the old shape: clear and sync it.
    Replaced,
    /// A `Feature` no longer configured in its group was removed.
    Deleted,
}

/// One line of [`Registry::ensure`]'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsureReport {
    /// The resource kind: `FeatureOnlineStore`, `FeatureGroup`, `Feature`, `FeatureView`.
    pub kind: String,
    /// The resource's full name.
    pub name: String,
    /// What happened to it.
    pub outcome: EnsureOutcome,
}

/// Everything the registry file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    feature_online_stores: Vec<FeatureOnlineStore>,
    feature_groups: Vec<FeatureGroup>,
    features: Vec<Feature>,
    feature_views: Vec<FeatureView>,
}

/// The persisted registry: read on open, rewritten atomically by every change.
///
/// Limitation: one process owns the file; two processes running `ensure` at once keep the
/// last writer's state. A production registry sits behind a service (Vertex AI's API).
#[derive(Debug, Clone)]
pub struct Registry {
    path: PathBuf,
    state: State,
}

impl Registry {
    /// Opens the registry in `dir` (`dir/registry.json`), empty if the file does not exist.
    pub fn open(dir: &Path) -> Result<Registry, RegistryError> {
        let path = dir.join(REGISTRY_FILE);
        let state = atomic::read_json(&path)?.unwrap_or_default();
        Ok(Registry { path, state })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the configured resources that are missing and reuses those that exist.
    ///
    /// The source table is `project.dataset.<source_table>` of `names.project` and
    /// `dataset`. With `recreate`, every configured resource is replaced. Resources of
    /// other ids are left alone; a `Feature` dropped from the configured group is deleted.
    /// The file is written only when something changed.
    pub fn ensure(
        &mut self,
        config: &FeatureStoreConfig,
        names: &ResourceNames,
        dataset: &str,
        recreate: bool,
    ) -> Result<Vec<EnsureReport>, RegistryError> {
        let reports = self.reconcile_all(config, names, dataset, recreate)?;

        let changed = reports.iter().filter(|r| r.outcome != EnsureOutcome::Reused).count();
        if changed > 0 {
            atomic::write_json(&self.path, &self.state)?;
        }
        tracing::info!(
            registry = %self.path.display(),
            resources = reports.len(),
            changed,
            "feature store resources ensured"
        );
        Ok(reports)
    }

    /// What [`Registry::ensure`] would do, without changing the registry or its file.
    pub fn plan(
        &self,
        config: &FeatureStoreConfig,
        names: &ResourceNames,
        dataset: &str,
        recreate: bool,
    ) -> Result<Vec<EnsureReport>, RegistryError> {
        self.clone().reconcile_all(config, names, dataset, recreate)
    }

    /// Puts every configured resource into the in-memory state and reports each outcome.
    fn reconcile_all(
        &mut self,
        config: &FeatureStoreConfig,
        names: &ResourceNames,
        dataset: &str,
        recreate: bool,
    ) -> Result<Vec<EnsureReport>, RegistryError> {
        let wanted = wanted_state(config, names, dataset)?;
        let now = now_rfc3339();
        let mut reports = Vec::new();

        for store in wanted.feature_online_stores {
            let outcome =
                reconcile(&mut self.state.feature_online_stores, store.clone(), recreate, &now);
            reports.push(report("FeatureOnlineStore", &store.name, outcome));
        }
        for group in wanted.feature_groups {
            let outcome = reconcile(&mut self.state.feature_groups, group.clone(), recreate, &now);
            reports.push(report("FeatureGroup", &group.name, outcome));
        }

        // Features of the configured group that the config no longer lists are deleted.
        let group_prefix = format!("{}/features/", names.feature_group(&config.feature_group.id));
        let kept: Vec<&str> = wanted.features.iter().map(|f| f.name.as_str()).collect();
        self.state.features.retain(|feature| {
            let stale = feature.name.starts_with(&group_prefix) && !kept.contains(&&*feature.name);
            if stale {
                reports.push(report("Feature", &feature.name, EnsureOutcome::Deleted));
            }
            !stale
        });
        for feature in wanted.features {
            let outcome = reconcile(&mut self.state.features, feature.clone(), recreate, &now);
            reports.push(report("Feature", &feature.name, outcome));
        }

        for view in wanted.feature_views {
            let outcome = reconcile(&mut self.state.feature_views, view.clone(), recreate, &now);
            reports.push(report("FeatureView", &view.name, outcome));
        }
        Ok(reports)
    }

    /// All online stores.
    pub fn feature_online_stores(&self) -> &[FeatureOnlineStore] {
        &self.state.feature_online_stores
    }

    /// All feature groups.
    pub fn feature_groups(&self) -> &[FeatureGroup] {
        &self.state.feature_groups
    }

    /// All features of all groups.
    pub fn features(&self) -> &[Feature] {
        &self.state.features
    }

    /// All feature views.
    pub fn feature_views(&self) -> &[FeatureView] {
        &self.state.feature_views
    }

    /// The feature view with full name `name_or_id`, or else the one whose id it is.
    ///
    /// An id shared by views of two online stores matches the first one registered.
    pub fn feature_view(&self, name_or_id: &str) -> Option<&FeatureView> {
        let views = &self.state.feature_views;
        views
            .iter()
            .find(|view| view.name == name_or_id)
            .or_else(|| views.iter().find(|view| view.id() == name_or_id))
    }

    /// The feature group with full name `name`.
    pub fn feature_group(&self, name: &str) -> Option<&FeatureGroup> {
        self.state.feature_groups.iter().find(|group| group.name == name)
    }

    /// The feature view `name_or_id` together with the group it serves.
    pub fn feature_view_with_group(
        &self,
        name_or_id: &str,
    ) -> Option<(&FeatureView, &FeatureGroup)> {
        let view = self.feature_view(name_or_id)?;
        Some((view, self.feature_group(&view.feature_group)?))
    }
}

/// The resources `config` asks for, with empty times.
fn wanted_state(
    config: &FeatureStoreConfig,
    names: &ResourceNames,
    dataset: &str,
) -> Result<State, RegistryError> {
    let store_id = &config.online_store.id;
    let group = &config.feature_group;
    let view = &config.feature_view;
    let view_name = names.feature_view(store_id, &view.id);

    // Checks that need the whole config: ids, unique feature names, a cron line.
    for (kind, id) in [("online store", store_id), ("feature group", &group.id), ("view", &view.id)]
    {
        if id.is_empty() || id.contains('/') {
            let message = format!("the {kind} id `{id}` must be non-empty and hold no `/`");
            return Err(RegistryError::Invalid { name: names.parent(), message });
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = config.features.iter().find(|f| !seen.insert(&f.name)) {
        let message = format!("feature `{}` is listed twice", twice.name);
        return Err(RegistryError::Invalid { name: names.feature_group(&group.id), message });
    }
    if let Err(e) = crate::schedule::parse_cron(&view.cron) {
        return Err(RegistryError::Invalid { name: view_name, message: e.to_string() });
    }

    let store = FeatureOnlineStore {
        name: names.online_store(store_id),
        description: config.online_store.description.clone(),
        create_time: String::new(),
        update_time: String::new(),
    };
    let feature_group = FeatureGroup {
        name: names.feature_group(&group.id),
        description: group.description.clone(),
        source_table: names.table(dataset, &group.source_table),
        entity_id_column: group.entity_id_column.clone(),
        timestamp_column: group.timestamp_column.clone(),
        create_time: String::new(),
        update_time: String::new(),
    };
    let features = config
        .features
        .iter()
        .map(|spec| Feature {
            name: names.feature(&group.id, &spec.name),
            value_type: spec.value_type,
            description: spec.description.clone(),
            create_time: String::new(),
            update_time: String::new(),
        })
        .collect();
    let feature_view = FeatureView {
        name: view_name,
        description: view.description.clone(),
        feature_group: feature_group.name.clone(),
        features: config.features.clone(),
        sync_cron: view.cron.clone(),
        create_time: String::new(),
        update_time: String::new(),
    };
    Ok(State {
        feature_online_stores: vec![store],
        feature_groups: vec![feature_group],
        features,
        feature_views: vec![feature_view],
    })
}

/// What [`reconcile`] needs to know about a resource.
trait Resource: Clone + PartialEq {
    fn name(&self) -> &str;
    fn times_mut(&mut self) -> (&mut String, &mut String);
    /// A copy with the fields Vertex AI can patch (and the times) blanked.
    fn immutable_part(&self) -> Self;

    fn without_times(&self) -> Self {
        let mut copy = self.clone();
        let (create, update) = copy.times_mut();
        create.clear();
        update.clear();
        copy
    }
}

/// Puts `wanted` into `existing` and says what that took.
fn reconcile<T: Resource>(
    existing: &mut Vec<T>,
    mut wanted: T,
    recreate: bool,
    now: &str,
) -> EnsureOutcome {
    let Some(current) = existing.iter_mut().find(|r| r.name() == wanted.name()) else {
        *wanted.times_mut().0 = now.to_string();
        *wanted.times_mut().1 = now.to_string();
        existing.push(wanted);
        return EnsureOutcome::Created;
    };

    let same_shape = current.immutable_part().without_times() == wanted.immutable_part();
    if recreate || !same_shape {
        *wanted.times_mut().0 = now.to_string();
        *wanted.times_mut().1 = now.to_string();
        *current = wanted;
        return EnsureOutcome::Replaced;
    }
    if current.without_times() == wanted {
        return EnsureOutcome::Reused;
    }

    let created = current.times_mut().0.clone();
    *wanted.times_mut().0 = created;
    *wanted.times_mut().1 = now.to_string();
    *current = wanted;
    EnsureOutcome::Updated
}

impl Resource for FeatureOnlineStore {
    fn name(&self) -> &str {
        &self.name
    }
    fn times_mut(&mut self) -> (&mut String, &mut String) {
        (&mut self.create_time, &mut self.update_time)
    }
    fn immutable_part(&self) -> Self {
        FeatureOnlineStore { description: String::new(), ..self.clone() }
    }
}

impl Resource for FeatureGroup {
    fn name(&self) -> &str {
        &self.name
    }
    fn times_mut(&mut self) -> (&mut String, &mut String) {
        (&mut self.create_time, &mut self.update_time)
    }
    fn immutable_part(&self) -> Self {
        FeatureGroup { description: String::new(), ..self.clone() }
    }
}

impl Resource for Feature {
    fn name(&self) -> &str {
        &self.name
    }
    fn times_mut(&mut self) -> (&mut String, &mut String) {
        (&mut self.create_time, &mut self.update_time)
    }
    fn immutable_part(&self) -> Self {
        Feature { description: String::new(), ..self.clone() }
    }
}

impl Resource for FeatureView {
    fn name(&self) -> &str {
        &self.name
    }
    fn times_mut(&mut self) -> (&mut String, &mut String) {
        (&mut self.create_time, &mut self.update_time)
    }
    fn immutable_part(&self) -> Self {
        // A feature's description does not change the shape of the view's rows.
        let features = self
            .features
            .iter()
            .map(|f| FeatureSpec { description: String::new(), ..f.clone() })
            .collect();
        FeatureView {
            description: String::new(),
            sync_cron: String::new(),
            features,
            ..self.clone()
        }
    }
}

fn report(kind: &str, name: &str, outcome: EnsureOutcome) -> EnsureReport {
    EnsureReport { kind: kind.to_string(), name: name.to_string(), outcome }
}

fn last_part(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Now as RFC 3339 UTC with milliseconds, the form Vertex AI returns.
pub(crate) fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
