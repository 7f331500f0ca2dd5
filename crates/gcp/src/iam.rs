//! Which IAM permission each REST method needs and which predefined role grants it, so a
//! 403 says what to grant, and the permissions each demo step needs, which `doctor` checks
//! with `testIamPermissions` before anything runs.

/// The IAM permission REST method `method_id` needs (`aiplatform.featureOnlineStores.create`
/// needs `aiplatform.featureOnlineStores.create`; `bigquery.jobs.insert` needs
/// `bigquery.jobs.create`).
pub fn permission(method_id: &str) -> &'static str {
    match method_id {
        "bigquery.datasets.get" => "bigquery.datasets.get",
        "bigquery.datasets.insert" => "bigquery.datasets.create",
        "bigquery.datasets.delete" => "bigquery.datasets.delete",
        "bigquery.jobs.insert" => "bigquery.jobs.create",
        "bigquery.jobs.get" => "bigquery.jobs.get",
        "bigquery.jobs.getQueryResults" => "bigquery.jobs.get",
        "bigquery.tables.get" => "bigquery.tables.get",
        "storage.buckets.get" => "storage.buckets.get",
        "storage.buckets.insert" => "storage.buckets.create",
        "storage.buckets.delete" => "storage.buckets.delete",
        "storage.objects.insert" => "storage.objects.create",
        "storage.objects.get" => "storage.objects.get",
        "storage.objects.list" => "storage.objects.list",
        "storage.objects.delete" => "storage.objects.delete",
        "aiplatform.featureOnlineStores.get" => "aiplatform.featureOnlineStores.get",
        "aiplatform.featureOnlineStores.create" => "aiplatform.featureOnlineStores.create",
        "aiplatform.featureOnlineStores.delete" => "aiplatform.featureOnlineStores.delete",
        "aiplatform.featureGroups.get" => "aiplatform.featureGroups.get",
        "aiplatform.featureGroups.create" => "aiplatform.featureGroups.create",
        "aiplatform.featureGroups.delete" => "aiplatform.featureGroups.delete",
        "aiplatform.features.get" => "aiplatform.features.get",
        "aiplatform.features.create" => "aiplatform.features.create",
        "aiplatform.featureViews.get" => "aiplatform.featureViews.get",
        "aiplatform.featureViews.create" => "aiplatform.featureViews.create",
        "aiplatform.featureViews.patch" => "aiplatform.featureViews.update",
        "aiplatform.featureViews.delete" => "aiplatform.featureViews.delete",
        "aiplatform.featureViews.sync" => "aiplatform.featureViews.sync",
        "aiplatform.featureViewSyncs.get" => "aiplatform.featureViewSyncs.get",
        "aiplatform.featureViews.fetchFeatureValues" => {
            "aiplatform.featureViews.fetchFeatureValues"
        }
        "aiplatform.operations.get" => "aiplatform.operations.get",
        "aiplatform.models.upload" => "aiplatform.models.upload",
        "aiplatform.models.get" => "aiplatform.models.get",
        "aiplatform.models.listVersions" => "aiplatform.models.list",
        "aiplatform.models.delete" => "aiplatform.models.delete",
        "aiplatform.endpoints.get" => "aiplatform.endpoints.get",
        "aiplatform.endpoints.create" => "aiplatform.endpoints.create",
        "aiplatform.endpoints.delete" => "aiplatform.endpoints.delete",
        "aiplatform.endpoints.deployModel" => "aiplatform.endpoints.deploy",
        "aiplatform.endpoints.undeployModel" => "aiplatform.endpoints.undeploy",
        "aiplatform.endpoints.predict" => "aiplatform.endpoints.predict",
        "cloudresourcemanager.projects.get" => "resourcemanager.projects.get",
        "serviceusage.services.get" => "serviceusage.services.get",
        _ => "an unlisted permission",
    }
}

/// A predefined role that grants `permission`, the narrowest that covers the demo's use.
pub fn role(permission: &str) -> &'static str {
    let service = permission.split('.').next().unwrap_or_default();
    match (service, permission) {
        (_, "bigquery.jobs.create" | "bigquery.jobs.get") => "roles/bigquery.jobUser",
        (_, "bigquery.datasets.delete") => "roles/bigquery.dataOwner",
        ("bigquery", _) => "roles/bigquery.dataEditor",
        (_, p) if p.starts_with("storage.buckets.") => "roles/storage.admin",
        ("storage", _) => "roles/storage.objectAdmin",
        ("aiplatform", _) => "roles/aiplatform.user",
        ("resourcemanager", _) => "roles/browser",
        ("serviceusage", _) => "roles/serviceusage.serviceUsageConsumer",
        _ => "roles/editor",
    }
}

/// The permissions each step of the gcp flow needs on the project, for `doctor`.
pub const STEP_PERMISSIONS: [(&str, &[&str]); 4] = [
    (
        "BigQuery tables",
        &[
            "bigquery.datasets.get",
            "bigquery.datasets.create",
            "bigquery.jobs.create",
            "bigquery.jobs.get",
            "bigquery.tables.create",
            "bigquery.tables.get",
            "bigquery.tables.getData",
            "bigquery.tables.updateData",
        ],
    ),
    (
        "feature store",
        &[
            "aiplatform.featureOnlineStores.get",
            "aiplatform.featureOnlineStores.create",
            "aiplatform.featureGroups.get",
            "aiplatform.featureGroups.create",
            "aiplatform.features.get",
            "aiplatform.features.create",
            "aiplatform.featureViews.get",
            "aiplatform.featureViews.create",
            "aiplatform.featureViews.update",
            "aiplatform.featureViews.sync",
            "aiplatform.featureViewSyncs.get",
            "aiplatform.featureViews.fetchFeatureValues",
            "aiplatform.operations.get",
        ],
    ),
    (
        "model and endpoint",
        &[
            "storage.buckets.get",
            "storage.buckets.create",
            "storage.objects.create",
            "storage.objects.get",
            "aiplatform.models.upload",
            "aiplatform.models.get",
            "aiplatform.models.list",
            "aiplatform.endpoints.get",
            "aiplatform.endpoints.create",
            "aiplatform.endpoints.deploy",
            "aiplatform.endpoints.undeploy",
            "aiplatform.endpoints.predict",
        ],
    ),
    (
        "teardown",
        &[
            "aiplatform.endpoints.delete",
            "aiplatform.models.delete",
            "aiplatform.featureViews.delete",
            "aiplatform.featureGroups.delete",
            "aiplatform.featureOnlineStores.delete",
            "bigquery.datasets.delete",
            "storage.objects.list",
            "storage.objects.delete",
            "storage.buckets.delete",
        ],
    ),
];

/// The distinct roles that grant `permissions`, for one "grant ..." line.
pub fn roles_for(permissions: &[&str]) -> Vec<&'static str> {
    let mut roles: Vec<&'static str> = permissions.iter().map(|p| role(p)).collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_permissions_and_roles() {
        let permission = permission("aiplatform.featureOnlineStores.create");

        assert_eq!(permission, "aiplatform.featureOnlineStores.create");
        assert_eq!(role(permission), "roles/aiplatform.user");
        assert_eq!(role(super::permission("bigquery.jobs.insert")), "roles/bigquery.jobUser");
        assert_eq!(role("storage.buckets.create"), "roles/storage.admin");
        assert_eq!(role("storage.objects.create"), "roles/storage.objectAdmin");
    }

    #[test]
    fn every_step_stays_under_the_test_iam_permissions_limit() {
        let total: usize = STEP_PERMISSIONS.iter().map(|(_, p)| p.len()).sum();

        assert!(total <= 100, "testIamPermissions takes at most 100 permissions, got {total}");
    }
}
