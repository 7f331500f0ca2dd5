//! The fake OAuth 2.0 token endpoint (`oauth2.googleapis.com/token`), so a test can run
//! Application Default Credentials from a service account key file end to end: the
//! fake makes the key ([`service_account_key`]), the client signs a JWT with it, the fake
//! checks the JWT's claims and RS256 signature and hands out an access token that the
//! other fakes then require.
//!
//! Reference: "Using OAuth 2.0 for Server to Server Applications", HTTP/REST
//! (developers.google.com/identity/protocols/oauth2/service-account#httprest), and RFC 7523.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use axum::http::Method;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::check::{Answer, ApiError, Req};
use crate::state::{Service, State};

/// The grant a service account's signed JWT is exchanged with.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The longest a signed JWT may live (`exp - iat`), per Google's reference.
const MAX_JWT_SECONDS: i64 = 3600;

/// JWT segments are base64url; RFC 7515 drops the padding, gcp_auth keeps it, and Google
/// accepts both.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How long an issued access token lives, as Google answers.
const TOKEN_SECONDS: i64 = 3599;

/// A service account the fake knows: its email and the public half of its key.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    pub client_email: String,
    pub public_key: Vec<u8>,
}

/// What the token endpoint remembers.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// The service accounts whose JWTs are accepted.
    pub signers: Vec<Signer>,
    /// Every access token handed out, in order.
    pub issued: Vec<String>,
    /// When set, the other fakes accept only tokens from `issued`.
    pub require_issued: bool,
    /// This fake's own URL, `http://127.0.0.1:PORT/token`: the `aud` a JWT must name.
    pub token_uri: String,
}

/// A service account key file's JSON, in the layout the IAM console downloads, with a fresh
/// 2048-bit RSA key and `token_uri` pointing at the fake; the fake remembers the public key.
pub(crate) fn service_account_key(state: &mut State, project: &str, client_email: &str) -> Value {
    let key = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key for the test");
    let pkcs8 = key.as_der().expect("encode the RSA key as PKCS#8");
    let pem = pem("PRIVATE KEY", pkcs8.as_ref());
    state.oauth.signers.push(Signer {
        client_email: client_email.to_string(),
        public_key: key.public_key().as_ref().to_vec(),
    });

    json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": format!("fake-key-{}", state.oauth.signers.len()),
        "private_key": pem,
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": state.oauth.token_uri,
    })
}

/// `POST /token`.
pub(crate) fn handle(state: &mut State, req: &Req) -> Result<Answer, ApiError> {
    // POST /token, Content-Type: application/x-www-form-urlencoded
    // grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={JWT}
    // JWT: header {"alg":"RS256","typ":"JWT"}, claims {iss, scope (space separated), aud =
    // the token URI, iat, exp <= iat + 3600}, signed RS256 with the service account's key
    // -> 200 {"access_token", "expires_in", "token_type": "Bearer"}
    // -> 400 {"error": "invalid_grant" | "invalid_request" | ..., "error_description"}
    if req.method != Method::POST || req.path != "/token" {
        return Err(ApiError::not_found(format!(
            "no {} {} on the token endpoint",
            req.method, req.path
        )));
    }
    state.enter(Service::OAuth, "oauth2.token")?;
    let form_type = req.content_type.as_deref().unwrap_or_default();
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(oauth_error("invalid_request", &format!("content type {form_type:?}")));
    }
    let form = crate::parse_query(std::str::from_utf8(&req.body).unwrap_or_default());
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return Ok(oauth_error("unsupported_grant_type", "Invalid grant_type"));
    }
    let Some(assertion) = form.get("assertion") else {
        return Ok(oauth_error("invalid_request", "Missing required parameter: assertion"));
    };

    match check_jwt(state, assertion) {
        Ok(()) => {
            let token = format!("ya29.fake-{}", state.id());
            state.oauth.issued.push(token.clone());
            Ok(Answer::Json(json!({
                "access_token": token,
                "expires_in": TOKEN_SECONDS,
                "token_type": "Bearer",
            })))
        }
        Err(description) => Ok(oauth_error("invalid_grant", &description)),
    }
}

/// Checks the JWT's header, claims and signature; the error is Google's description.
fn check_jwt(state: &State, jwt: &str) -> Result<(), String> {
    let audience = state.oauth.token_uri.as_str();
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("Invalid JWT: expected header.claims.signature".into());
    };
    let json_part = |part: &str| -> Result<Value, String> {
        let bytes = BASE64URL.decode(part).map_err(|e| format!("Invalid JWT: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("Invalid JWT: {e}"))
    };
    let (header, claims) = (json_part(header)?, json_part(claims)?);

    if header["alg"] != "RS256" {
        return Err(format!("Invalid JWT: alg {} is not RS256", header["alg"]));
    }
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let signer = state
        .oauth
        .signers
        .iter()
        .find(|s| s.client_email == issuer)
        .ok_or_else(|| format!("Invalid JWT: no service account {issuer:?}"))?;
    if claims["aud"] != audience {
        return Err(format!("Invalid JWT: aud {} is not {audience}", claims["aud"]));
    }
    if claims["scope"].as_str().is_none_or(|s| s.split(' ').all(str::is_empty)) {
        return Err("Invalid JWT: no scope".into());
    }
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    let now = chrono::Utc::now().timestamp();
    match (iat, exp) {
        (Some(iat), Some(exp)) if exp > now && exp - iat <= MAX_JWT_SECONDS && iat <= now + 60 => {}
        _ => {
            return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a \
                        reasonable timeframe. Check your iat and exp values"
                .into())
        }
    }

    let signed = &jwt[..jwt.len() - signature.len() - 1];
    let signature = BASE64URL.decode(signature).map_err(|e| format!("Invalid JWT: {e}"))?;
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &signer.public_key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.".to_string())
}

/// The token endpoint's error shape, which is OAuth's, not Google's API error.
fn oauth_error(error: &str, description: &str) -> Answer {
    Answer::Status(400, json!({"error": error, "error_description": description}))
}

/// DER bytes as a PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let lines: Vec<&str> =
        base64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::RsaKeyPair;

    use super::*;
    use crate::engine::CannedEngine;

    const EMAIL: &str = "sa@p.iam.gserviceaccount.com";

    /// A state with one known service account; returns it with that account's key.
    fn state_with_key() -> (State, RsaKeyPair) {
        let mut state = State::new(Arc::new(CannedEngine::new()));
        state.oauth.token_uri = "http://127.0.0.1:1/token".into();
        let key = service_account_key(&mut state, "p", EMAIL);
        let pem = key["private_key"].as_str().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let pair = RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap();
        (state, pair)
    }

    fn jwt(key: &RsaKeyPair, claims: Value) -> String {
        let header = BASE64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let signed = format!("{header}.{}", BASE64URL.encode(claims.to_string()));
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{signed}.{}", BASE64URL.encode(signature))
    }

    fn claims(state: &State, iat: i64, exp: i64) -> Value {
        json!({"iss": EMAIL, "scope": "https://www.googleapis.com/auth/cloud-platform",
               "aud": state.oauth.token_uri, "iat": iat, "exp": exp})
    }

    #[test]
    fn a_jwt_signed_by_the_key_with_the_right_claims_is_accepted() {
        let (state, key) = state_with_key();
        let now = chrono::Utc::now().timestamp();

        assert_eq!(check_jwt(&state, &jwt(&key, claims(&state, now, now + 3600))), Ok(()));
    }

    #[test]
    fn a_jwt_for_another_audience_expired_or_too_long_is_refused() {
        let (state, key) = state_with_key();
        let now = chrono::Utc::now().timestamp();
        let mut elsewhere = claims(&state, now, now + 60);
        elsewhere["aud"] = json!("https://oauth2.googleapis.com/token");

        let refusals = [
            check_jwt(&state, &jwt(&key, elsewhere)),
            check_jwt(&state, &jwt(&key, claims(&state, now - 7200, now - 3600))),
            check_jwt(&state, &jwt(&key, claims(&state, now, now + 7200))),
        ];

        assert!(refusals[0].as_ref().unwrap_err().contains("aud"), "{refusals:?}");
        assert!(refusals[1].as_ref().unwrap_err().contains("iat and exp"), "{refusals:?}");
        assert!(refusals[2].as_ref().unwrap_err().contains("iat and exp"), "{refusals:?}");
    }

    #[test]
    fn changed_claims_break_the_signature() {
        let (state, key) = state_with_key();
        let now = chrono::Utc::now().timestamp();
        let token = jwt(&key, claims(&state, now, now + 60));
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = claims(&state, now, now + 60);
        other["scope"] = json!("https://www.googleapis.com/auth/devstorage.full_control");
        let forged = format!("{}.{}.{}", parts[0], BASE64URL.encode(other.to_string()), parts[2]);

        assert_eq!(check_jwt(&state, &forged), Err("Invalid JWT Signature.".to_string()));
    }
}
