//! The fake Vertex AI v1: routes `/v1/{name}[:verb]` to the feature store resources
//! (`featurestore`), syncs and online fetches (`online`), models and endpoints (`models`),
//! and answers `operations.get` for every long-running operation they start.

mod featurestore;
mod models;
mod online;

use axum::http::Method;

use crate::check::{segments, Answer, ApiError, Req};
use crate::state::{Service, State};

pub(crate) fn handle(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    let (parts, verb) = segments(&req.path, "/v1/").ok_or_else(|| unknown(req))?;
    let ["projects", project, "locations", location, rest @ ..] = parts.as_slice() else {
        return Err(unknown(req));
    };
    let parent = format!("projects/{project}/locations/{location}");
    let name = format!("{parent}/{}", rest.join("/"));
    // For a create, the collection's owner: `.../featureGroups/G` of `.../G/features`.
    let owner = name.rsplit_once('/').map(|(owner, _)| owner.to_string()).unwrap_or_default();
    let method = &req.method;

    // GET /v1/{name=projects/*/locations/*/**/operations/*}
    // -> Operation {name, metadata, done, error: Status | response: Any}
    if let [.., "operations", _] = rest {
        if *method == Method::GET && verb.is_none() {
            state.enter(Service::Vertex, "aiplatform.operations.get")?;
            req.query_only(&[])?;
            return state.poll_operation(&name).map(Answer::Json);
        }
    }

    match (method, rest, verb) {
        (&Method::POST, ["featureOnlineStores"], None) => {
            featurestore::create_store(state, req, &parent)
        }
        (&Method::GET, ["featureOnlineStores", _], None) => {
            featurestore::get(state, req, "featureOnlineStores", &name)
        }
        (&Method::DELETE, ["featureOnlineStores", _], None) => {
            featurestore::delete_store(state, req, &name)
        }
        (&Method::POST, ["featureOnlineStores", _, "featureViews"], None) => {
            featurestore::create_view(state, req, &parent, &owner)
        }
        (&Method::GET, ["featureOnlineStores", _, "featureViews", _], None) => {
            featurestore::get(state, req, "featureViews", &name)
        }
        (&Method::PATCH, ["featureOnlineStores", _, "featureViews", _], None) => {
            featurestore::patch_view(state, req, &name)
        }
        (&Method::DELETE, ["featureOnlineStores", _, "featureViews", _], None) => {
            featurestore::delete_view(state, req, &name)
        }
        (&Method::POST, ["featureOnlineStores", _, "featureViews", _], Some("sync")) => {
            online::sync(state, req, &name)
        }
        (
            &Method::POST,
            ["featureOnlineStores", _, "featureViews", _],
            Some("fetchFeatureValues"),
        ) => online::fetch(state, req, &name),
        (
            &Method::GET,
            ["featureOnlineStores", _, "featureViews", _, "featureViewSyncs", _],
            None,
        ) => online::get_sync(state, req, &name),
        (&Method::POST, ["featureGroups"], None) => featurestore::create_group(state, req, &parent),
        (&Method::GET, ["featureGroups", _], None) => {
            featurestore::get(state, req, "featureGroups", &name)
        }
        (&Method::DELETE, ["featureGroups", _], None) => {
            featurestore::delete_group(state, req, &name)
        }
        (&Method::POST, ["featureGroups", _, "features"], None) => {
            featurestore::create_feature(state, req, &owner)
        }
        (&Method::GET, ["featureGroups", _, "features", _], None) => {
            featurestore::get(state, req, "features", &name)
        }
        (&Method::POST, ["models"], Some("upload")) => models::upload(state, req, &parent),
        (&Method::GET, ["models", _], None) => models::get_model(state, req, &name),
        (&Method::GET, ["models", _], Some("listVersions")) => {
            models::list_versions(state, req, &name)
        }
        (&Method::DELETE, ["models", _], None) => models::delete_model(state, req, &name),
        (&Method::POST, ["endpoints"], None) => models::create_endpoint(state, req, &parent),
        (&Method::GET, ["endpoints", _], None) => models::get_endpoint(state, req, &name),
        (&Method::DELETE, ["endpoints", _], None) => models::delete_endpoint(state, req, &name),
        (&Method::POST, ["endpoints", _], Some("deployModel")) => models::deploy(state, req, &name),
        (&Method::POST, ["endpoints", _], Some("undeployModel")) => {
            models::undeploy(state, req, &name)
        }
        (&Method::POST, ["endpoints", _], Some("predict")) => models::predict(state, req, &name),
        _ => Err(unknown(req)),
    }
}

fn unknown(req: &Req) -> ApiError {
    ApiError::invalid(format!("{} {} matches no Vertex AI v1 method", req.method, req.path))
}
