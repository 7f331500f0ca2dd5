//! Reading a Vertex AI REST path: the full resource name and the custom verb after its
//! last `:` (`projects/P/.../featureViews/V:fetchFeatureValues`), and checking that a name
//! has the shape a method expects. Dispatch on the result lives in `router`.

/// The resource kinds the service knows, each as the collection ids its full name walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `projects/P/locations/L/featureOnlineStores/S/featureViews/V`
    FeatureView,
    /// `projects/P/locations/L/featureOnlineStores/S/featureViews/V/featureViewSyncs/ID`
    FeatureViewSync,
    /// `projects/P/locations/L/endpoints/E`
    Endpoint,
}

impl Kind {
    /// The collection ids of this kind's full name, in order.
    fn collections(self) -> &'static [&'static str] {
        match self {
            Kind::FeatureView => &["projects", "locations", "featureOnlineStores", "featureViews"],
            Kind::FeatureViewSync => &[
                "projects",
                "locations",
                "featureOnlineStores",
                "featureViews",
                "featureViewSyncs",
            ],
            Kind::Endpoint => &["projects", "locations", "endpoints"],
        }
    }

    /// The name pattern for messages, e.g.
    /// `projects/{project}/locations/{location}/endpoints/{endpoint}`.
    pub fn pattern(self) -> &'static str {
        match self {
            Kind::FeatureView => {
                "projects/{project}/locations/{location}/featureOnlineStores/{featureOnlineStore}\
                 /featureViews/{featureView}"
            }
            Kind::FeatureViewSync => {
                "projects/{project}/locations/{location}/featureOnlineStores/{featureOnlineStore}\
                 /featureViews/{featureView}/featureViewSyncs/{featureViewSync}"
            }
            Kind::Endpoint => "projects/{project}/locations/{location}/endpoints/{endpoint}",
        }
    }

    /// Whether `name` is a full name of this kind: the collection ids in order, each followed
    /// by a non-empty id.
    pub fn matches(self, name: &str) -> bool {
        let mut parts = name.split('/');
        for collection in self.collections() {
            let (Some(found), Some(id)) = (parts.next(), parts.next()) else {
                return false;
            };
            if found != *collection || id.is_empty() {
                return false;
            }
        }
        parts.next().is_none()
    }
}

/// Splits the path after `/v1/` into the resource name and its custom verb.
///
/// The verb follows the last `:` of the last path segment, so a colon elsewhere stays in
/// the name. `Some("")` means a trailing `:` with no verb, which callers reject.
pub fn split_verb(rest: &str) -> (&str, Option<&str>) {
    let last_segment = rest.rfind('/').map_or(0, |slash| slash + 1);
    match rest[last_segment..].rfind(':') {
        Some(colon) => {
            let colon = last_segment + colon;
            (&rest[..colon], Some(&rest[colon + 1..]))
        }
        None => (rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: &str = "projects/p/locations/l/featureOnlineStores/s/featureViews/v";

    #[test]
    fn verb_is_split_after_the_last_colon_of_the_last_segment() {
        let path = format!("{VIEW}:fetchFeatureValues");

        assert_eq!(split_verb(&path), (VIEW, Some("fetchFeatureValues")));
        assert_eq!(split_verb(VIEW), (VIEW, None));
        assert_eq!(split_verb("a:b/c"), ("a:b/c", None));
        assert_eq!(split_verb("a/b:c:d"), ("a/b:c", Some("d")));
        assert_eq!(split_verb("a/b:"), ("a/b", Some("")));
        assert_eq!(split_verb(""), ("", None));
    }

    #[test]
    fn names_match_only_their_own_kind() {
        let sync = format!("{VIEW}/featureViewSyncs/42");

        assert!(Kind::FeatureView.matches(VIEW));
        assert!(Kind::FeatureViewSync.matches(&sync));
        assert!(Kind::Endpoint.matches("projects/p/locations/l/endpoints/e"));
        assert!(!Kind::FeatureView.matches(&sync));
        assert!(!Kind::FeatureViewSync.matches(VIEW));
        assert!(!Kind::Endpoint.matches(VIEW));
    }

    #[test]
    fn names_with_empty_ids_or_extra_parts_do_not_match() {
        assert!(!Kind::Endpoint.matches("projects//locations/l/endpoints/e"));
        assert!(!Kind::Endpoint.matches("projects/p/locations/l/endpoints/"));
        assert!(!Kind::Endpoint.matches("projects/p/locations/l/endpoints/e/"));
        assert!(!Kind::Endpoint.matches("projects/p/locations/l/endpoints"));
        assert!(!Kind::Endpoint.matches(""));
    }
}
