//! `deploy`: puts the newest version of a `Model` on an `Endpoint` with 100% of the
//! traffic, creating the endpoint if needed and replacing what was deployed before.

use std::collections::BTreeMap;

use fsdemo_core::config::ResourceConfig;
use tracing::info;

use super::{
    endpoint_path, now, write_json, DeployedModel, Endpoint, Outcome, Registry, RegistryError,
};

/// What a deploy did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployReport {
    /// The endpoint after the deploy.
    pub endpoint: Endpoint,
    /// `Created` when the endpoint did not exist, else `Reused`.
    pub endpoint_outcome: Outcome,
    /// The deployed model now taking all traffic.
    pub deployed_model: DeployedModel,
    /// `Created` for the endpoint's first deployment, `Reused` when this version was
    /// already serving (nothing changes), `Replaced` when it took over from `replaced`.
    pub outcome: Outcome,
    /// The deployed models taken off the endpoint.
    pub replaced: Vec<DeployedModel>,
}

impl Registry {
    /// Deploys the newest version of `model_id` to `endpoint` with 100% of the traffic.
    pub fn deploy(
        &self,
        endpoint: &ResourceConfig,
        model_id: &str,
    ) -> Result<DeployReport, RegistryError> {
        let model_name = self.names.model(model_id);
        let model = self.model(model_id)?;
        let newest = model.as_ref().and_then(|m| m.versions.last()).ok_or_else(|| {
            RegistryError::ModelNotFound { model: model_name.clone(), registry: self.root.clone() }
        })?;

        let existing = self.endpoint(&endpoint.id)?;
        let endpoint_outcome = if existing.is_some() { Outcome::Reused } else { Outcome::Created };
        let mut state = existing.unwrap_or_else(|| Endpoint {
            name: self.names.endpoint(&endpoint.id),
            display_name: endpoint.id.clone(),
            description: endpoint.description.clone(),
            create_time: now(),
            update_time: now(),
            generation: 0,
            deployed_models: Vec::new(),
            traffic_split: BTreeMap::new(),
        });

        // The same version already taking the traffic: nothing to change or reload.
        let unchanged =
            |d: &&DeployedModel| d.model == model_name && d.model_version_id == newest.version_id;
        if let Some(serving) = state.serving().filter(unchanged) {
            info!(endpoint = %state.name, deployed_model = %serving.id, "deployment unchanged");
            let deployed_model = serving.clone();
            let (outcome, replaced) = (Outcome::Reused, Vec::new());
            return Ok(DeployReport {
                endpoint: state,
                endpoint_outcome,
                deployed_model,
                outcome,
                replaced,
            });
        }

        state.generation += 1;
        let deployed_model = DeployedModel {
            id: state.generation.to_string(),
            model: model_name.clone(),
            model_version_id: newest.version_id.clone(),
            artifact_uri: newest.artifact_uri.clone(),
            sha256: newest.sha256.clone(),
            create_time: now(),
        };
        let replaced = std::mem::replace(&mut state.deployed_models, vec![deployed_model.clone()]);
        state.traffic_split = BTreeMap::from([(deployed_model.id.clone(), 100)]);
        state.update_time = now();
        write_json("deploy", &endpoint_path(&self.root, &endpoint.id), &state)?;

        let outcome = if replaced.is_empty() { Outcome::Created } else { Outcome::Replaced };
        info!(
            endpoint = %state.name,
            model = %model_name,
            version = %deployed_model.model_version_id,
            deployed_model = %deployed_model.id,
            replaced = replaced.len(),
            generation = state.generation,
            "model deployed with 100% of traffic"
        );
        Ok(DeployReport { endpoint: state, endpoint_outcome, deployed_model, outcome, replaced })
    }
}
