//! The device API's OpenAPI 3.1 description, generated from the handlers'
//! annotations and the core's wire types (served at /api/v1/openapi.json).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::device_api;

#[derive(OpenApi)]
#[openapi(
    info(title = "fieldcheck device API", description = "PRODUCT.md §12.2–§12.3: enrolment, signed sync batches, review decisions, the configuration feeds"),
    paths(device_api::healthz, device_api::enrol, device_api::receive_batch, device_api::decisions, device_api::config),
    modifiers(&DeviceToken),
)]
pub struct DeviceApi;

struct DeviceToken;

impl Modify for DeviceToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(DeviceApi::openapi())
}
