//! The fake Resource Manager v3 (`projects.get`, `projects.testIamPermissions`) and Service
//! Usage v1 (`services.get`): the project exists, every permission is granted unless the
//! test denied it, every API is enabled unless the test disabled it.

use axum::http::Method;
use serde_json::{json, Value};

use crate::check::{only, segments, Answer, ApiError, Req};
use crate::state::{Service, State, PROJECT_NUMBER};

/// Resource Manager v3.
pub(crate) fn resource_manager(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    let (parts, verb) = segments(&req.path, "/v3/").ok_or_else(|| unknown(req))?;
    match (&req.method, parts.as_slice(), verb) {
        // GET /v3/projects/{projectId}
        // -> Project {name: "projects/{number}", projectId, state: "ACTIVE", displayName}
        (&Method::GET, ["projects", project], None) => {
            state.enter(Service::ResourceManager, "cloudresourcemanager.projects.get")?;
            req.query_only(&[])?;
            Ok(Answer::Json(json!({
                "name": format!("projects/{PROJECT_NUMBER}"),
                "projectId": project,
                "state": "ACTIVE",
                "displayName": project,
                "parent": "organizations/1",
            })))
        }
        // POST /v3/projects/{projectId}:testIamPermissions
        // body {permissions: [string]} -> {permissions: [the granted subset]} (omitted if none)
        (&Method::POST, ["projects", _project], Some("testIamPermissions")) => {
            state.enter(
                Service::ResourceManager,
                "cloudresourcemanager.projects.testIamPermissions",
            )?;
            req.query_only(&[])?;
            let body = req.json_object("TestIamPermissionsRequest")?;
            only(&body, "TestIamPermissionsRequest", &["permissions"])?;
            let asked = crate::check::str_list(&body, "TestIamPermissionsRequest", "permissions")?;
            if asked.len() > 100 {
                return Err(ApiError::invalid("`permissions`: at most 100 permissions per call"));
            }

            let granted: Vec<Value> = asked
                .iter()
                .filter(|p| !state.denied_permissions.contains(p.as_str()))
                .map(|p| json!(p))
                .collect();
            let answer =
                if granted.is_empty() { json!({}) } else { json!({"permissions": granted}) };
            Ok(Answer::Json(answer))
        }
        _ => Err(unknown(req)),
    }
}

/// Service Usage v1.
pub(crate) fn service_usage(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    let (parts, verb) = segments(&req.path, "/v1/").ok_or_else(|| unknown(req))?;
    match (&req.method, parts.as_slice(), verb) {
        // GET /v1/projects/{project}/services/{service}
        // -> Service {name: "projects/{number}/services/{service}", parent, config: {name},
        //    state: "ENABLED" | "DISABLED"}
        (&Method::GET, ["projects", _project, "services", service], None) => {
            state.enter(Service::ServiceUsage, "serviceusage.services.get")?;
            req.query_only(&[])?;
            if !service.ends_with(".googleapis.com") {
                return Err(ApiError::invalid(format!(
                    "service {service:?}: expected a service name such as bigquery.googleapis.com"
                )));
            }
            let enabled = !state.disabled_services.contains(*service);
            Ok(Answer::Json(json!({
                "name": format!("projects/{PROJECT_NUMBER}/services/{service}"),
                "parent": format!("projects/{PROJECT_NUMBER}"),
                "config": {"name": service},
                "state": if enabled { "ENABLED" } else { "DISABLED" },
            })))
        }
        _ => Err(unknown(req)),
    }
}

fn unknown(req: &Req) -> ApiError {
    ApiError::invalid(format!("{} {} matches no method of this API", req.method, req.path))
}
