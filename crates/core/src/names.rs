//! Vertex AI and BigQuery resource names, built in one place so every log line, error and
//! registry entry names a resource the same way
//! (`projects/P/locations/L/featureOnlineStores/S/featureViews/V`).

/// Builds full resource names for one project and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    /// The project id (`local` for the local profile).
    pub project: String,
    /// The Vertex AI region (`local` for the local profile).
    pub location: String,
}

impl ResourceNames {
    /// Names for `project` in `location`.
    pub fn new(project: impl Into<String>, location: impl Into<String>) -> Self {
        Self { project: project.into(), location: location.into() }
    }

    /// `projects/P/locations/L`, the parent of every Vertex AI resource.
    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// The full name of a `FeatureOnlineStore`.
    pub fn online_store(&self, store: &str) -> String {
        format!("{}/featureOnlineStores/{store}", self.parent())
    }

    /// The full name of a `FeatureView` inside an online store.
    pub fn feature_view(&self, store: &str, view: &str) -> String {
        format!("{}/featureViews/{view}", self.online_store(store))
    }

    /// The full name of one `FeatureViewSync` of a feature view.
    pub fn feature_view_sync(&self, store: &str, view: &str, sync: &str) -> String {
        format!("{}/featureViewSyncs/{sync}", self.feature_view(store, view))
    }

    /// The full name of a `FeatureGroup`.
    pub fn feature_group(&self, group: &str) -> String {
        format!("{}/featureGroups/{group}", self.parent())
    }

    /// The full name of a `Feature` inside a feature group.
    pub fn feature(&self, group: &str, feature: &str) -> String {
        format!("{}/features/{feature}", self.feature_group(group))
    }

    /// The full name of a `Model` in the model registry.
    pub fn model(&self, model: &str) -> String {
        format!("{}/models/{model}", self.parent())
    }

    /// The full name of an `Endpoint`.
    pub fn endpoint(&self, endpoint: &str) -> String {
        format!("{}/endpoints/{endpoint}", self.parent())
    }

    /// A BigQuery table as `project.dataset.table`.
    pub fn table(&self, dataset: &str, table: &str) -> String {
        format!("{}.{dataset}.{table}", self.project)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_vertex_ai_paths() {
        let names = ResourceNames::new("p", "us-central1");

        assert_eq!(
            names.feature_view_sync("s", "v", "42"),
            "projects/p/locations/us-central1/featureOnlineStores/s/featureViews/v/featureViewSyncs/42"
        );
        assert_eq!(
            names.feature("g", "orders_7d"),
            "projects/p/locations/us-central1/featureGroups/g/features/orders_7d"
        );
        assert_eq!(names.endpoint("e"), "projects/p/locations/us-central1/endpoints/e");
        assert_eq!(names.table("d", "t"), "p.d.t");
    }
}
