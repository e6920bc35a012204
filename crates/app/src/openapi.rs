//! The OpenAPI 3.1 document, generated from the code: each handler's `#[utoipa::path]`, each
//! DTO's `ToSchema`, collected from the very `service(...)` calls that mount the routes (through
//! `utoipa-actix-web`), so the document cannot name a handler the server does not mount.
//!
//! What the annotations cannot see is added here once for every operation: the bearer scheme
//! on all but the public operations, and the error envelope under each status an operation can
//! answer (see [`Contract`]).

use std::borrow::Cow;
use std::sync::OnceLock;

use actix_web::{App, HttpResponse, get};
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder, Schema,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_actix_web::AppExt;

use crate::error::Envelope;
use crate::routes;

/// Operations anyone may call, without a bearer token. A test checks that every other
/// operation answers 401 without one, and these do not.
pub const PUBLIC: &[&str] = &[
    "health_live",
    "health_ready",
    "openapi_document",
    "register",
    "login",
    "refresh",
    "plaid_webhook",
];

/// Operations that call Plaid, and so can pass on its refusals and its rate limit.
pub const CALLS_PLAID: &[&str] = &[
    "create_link_token",
    "create_connection",
    "delete_connection",
    "sync_connection",
];

/// The name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nestegg API",
        description = "Self-hosted personal finance: accounts, transactions, net worth, \
            cash flow, investments and portfolios, kept current through Plaid. Amounts, \
            prices, quantities and rates are exact decimals written as JSON strings \
            (requests may also send them as JSON numbers, which are read exactly). \
            Every error is `{\"error\": {\"code\", \"message\", \"fields\"?}}`; `docs/API.md` \
            in the repository is the contract in prose.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    // Schemas that only query parameters name, which utoipa does not collect by itself.
    components(schemas(Envelope, schema::Interval, schema::CashflowGrouping))
)]
struct Base;

/// The document, built once from the route table.
#[must_use]
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut api) = App::new()
            .into_utoipa_app()
            .openapi(Base::openapi())
            .configure(routes::configure)
            .split_for_parts();
        Contract.modify(&mut api);
        api
    })
}

/// The document as pretty JSON, as served and as `nestegg openapi` prints it.
///
/// # Errors
/// When serialization fails (it does not for this document).
pub fn document_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json()
}

/// The OpenAPI 3.1 description of this API (this document).
#[utoipa::path(
    operation_id = "openapi_document", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
#[get("/openapi.json")]
async fn openapi_json() -> crate::routes::Reply {
    static TEXT: OnceLock<Option<String>> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        document_json()
            .map_err(|e| tracing::error!(error = %e, "the OpenAPI document does not serialize"))
            .ok()
    });
    match text {
        Some(text) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(text.as_str())),
        None => Err(nestegg_application::AppError::Unexpected(anyhow::anyhow!(
            "the OpenAPI document does not serialize"
        ))
        .into()),
    }
}

/// Mounts `GET /openapi.json` (under `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(openapi_json);
}

/// Adds what every operation shares: the bearer scheme and the error responses.
#[derive(Debug, Clone, Copy)]
pub struct Contract;

/// An error status: its component name and what it means.
struct ErrorStatus {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const BAD_REQUEST: ErrorStatus = ErrorStatus {
    status: "400",
    name: "BadRequest",
    description: "The request could not be read: a body, query or path value that does not \
        parse, with the field or parameter named in the message and in `fields`, each with \
        what was expected (`invalid_body`, `invalid_query`, `invalid_path`); text that is not \
        JSON (`malformed_json`); a cursor this API did not give out (`invalid_cursor`).",
};
const UNAUTHORIZED: ErrorStatus = ErrorStatus {
    status: "401",
    name: "Unauthorized",
    description: "No bearer token, or one that is forged, expired or of an ended session \
        (`unauthorized`, `token_expired`, `session_ended`); `WWW-Authenticate: Bearer`.",
};
const NOT_FOUND: ErrorStatus = ErrorStatus {
    status: "404",
    name: "NotFound",
    description: "No such resource for this user (another user's ids answer the same).",
};
const TOO_LARGE: ErrorStatus = ErrorStatus {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than the server accepts (`payload_too_large`).",
};
const MEDIA_TYPE: ErrorStatus = ErrorStatus {
    status: "415",
    name: "UnsupportedMediaType",
    description: "The body is not sent as `application/json` (`unsupported_media_type`).",
};
const UNPROCESSABLE: ErrorStatus = ErrorStatus {
    status: "422",
    name: "Unprocessable",
    description: "The request was read but breaks a rule: `validation_failed` with `fields` \
        naming each invalid field, or a rule's own code (e.g. `insufficient_funds`).",
};
const PLAID_REFUSED: ErrorStatus = ErrorStatus {
    status: "422",
    name: "PlaidRefused",
    description: "Plaid refused the request (`plaid_error`, `login_required`, \
        `plaid_invalid_token`), or a field is invalid (`validation_failed`).",
};
const PLAID_RATE_LIMITED: ErrorStatus = ErrorStatus {
    status: "429",
    name: "PlaidRateLimited",
    description: "Plaid is rate limiting this server (`rate_limited`, with `Retry-After`).",
};
const INTERNAL: ErrorStatus = ErrorStatus {
    status: "500",
    name: "InternalError",
    description: "Something went wrong on the server (`internal_error`); logged with the \
        request id.",
};
const UNAVAILABLE: ErrorStatus = ErrorStatus {
    status: "503",
    name: "Unavailable",
    description: "A dependency is unavailable (`service_unavailable`), writes kept colliding \
        (`busy`, with `Retry-After`), the server is shedding load (`overloaded`), or a \
        feature is not configured (`plaid_not_configured`).",
};

impl Modify for Contract {
    fn modify(&self, api: &mut Document) {
        let components = api.components.get_or_insert_with(Components::new);
        components.security_schemes.insert(
            BEARER.to_owned(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access token from `POST /api/v1/auth/login` or `/auth/refresh`.",
                    ))
                    .build(),
            )),
        );
        for e in [
            &BAD_REQUEST,
            &UNAUTHORIZED,
            &NOT_FOUND,
            &TOO_LARGE,
            &MEDIA_TYPE,
            &UNPROCESSABLE,
            &PLAID_REFUSED,
            &PLAID_RATE_LIMITED,
            &INTERNAL,
            &UNAVAILABLE,
        ] {
            components.responses.insert(
                e.name.to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(e.description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(RefOr::Ref(Ref::from_schema_name(Envelope::name()))))
                                .build(),
                        )
                        .build(),
                ),
            );
        }
        for item in api.paths.paths.values_mut() {
            for operation in operations(item) {
                decorate(operation);
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The statuses an operation can answer follow from its shape: a body can be unreadable,
/// too large or of the wrong type; a path id can name nothing; a token can be missing.
fn decorate(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    let public = PUBLIC.contains(&id.as_str());
    let params: Vec<&Parameter> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_body = operation.request_body.is_some();
    let mut statuses = Vec::new();
    if CALLS_PLAID.contains(&id.as_str()) {
        statuses.extend([&PLAID_REFUSED, &PLAID_RATE_LIMITED]);
    }
    if has_path || has_query || has_body {
        statuses.push(&BAD_REQUEST);
    }
    if !public {
        statuses.push(&UNAUTHORIZED);
        operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    } else {
        // An empty list overrides nothing at the root and says plainly: no token needed.
        operation.security = Some(Vec::new());
    }
    if has_path {
        statuses.push(&NOT_FOUND);
    }
    if has_body {
        statuses.push(&TOO_LARGE);
        statuses.push(&MEDIA_TYPE);
    }
    if has_body || has_query {
        statuses.push(&UNPROCESSABLE);
    }
    if id != "health_live" && id != "openapi_document" {
        statuses.push(&INTERNAL);
        statuses.push(&UNAVAILABLE);
    }
    for e in statuses {
        operation
            .responses
            .responses
            .entry(e.status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(e.name)));
    }
}

/// Schemas for the domain's values, which carry no OpenAPI derives of their own (the domain
/// crate stays free of any framework): DTO fields name these with `#[schema(value_type = ..)]`.
pub mod schema {
    use super::{Cow, PartialSchema, RefOr, Schema, ToSchema};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};

    /// The grammar of every decimal the API reads and writes.
    pub const DECIMAL_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";

    /// A named schema for a value the domain defines: the type, its docs and how its schema
    /// is built from a string schema.
    macro_rules! schema {
        ($(#[$doc:meta])* $name:ident, |$base:ident| $build:expr) => {
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    let $base = ObjectBuilder::new().schema_type(Type::String);
                    $build.into()
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        };
    }

    schema!(
        /// An exact decimal written as a string: `"1234.56"`, `"-0.1"`.
        Decimal,
        |s| s
            .pattern(Some(DECIMAL_PATTERN))
            .description(Some("An exact decimal as a string, never a JSON number."))
            .examples(["1234.56"])
    );
    schema!(
        /// A decimal in a request: a string as [`Decimal`], or a JSON number (its literal text
        /// is read exactly; exponents such as `1e3` are refused). `pattern` constrains strings
        /// only.
        DecimalInput,
        |s| s
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .pattern(Some(DECIMAL_PATTERN))
            .description(Some(
                "An exact decimal: a string such as \"1234.56\" (preferred), or a JSON number, \
                 whose literal text is read exactly (no exponent).",
            ))
            .examples(["1234.56"])
    );
    schema!(
        /// An ISO 4217 currency code.
        Currency,
        |s| s
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("An ISO 4217 currency code, upper case."))
            .examples(["USD"])
    );
    schema!(
        /// A moment in UTC, RFC 3339 with milliseconds.
        Timestamp,
        |s| s
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("A moment in UTC, RFC 3339 with milliseconds."))
            .examples(["2026-11-25T21:12:53.000Z"])
    );

    /// A schema listing names: a domain enum's, from the enum's own `ALL` (`all Enum`), or
    /// the values given.
    macro_rules! names {
        ($name:ident, all $enum:ty, $doc:literal) => {
            names!($name, <$enum>::ALL.iter().map(|v| v.as_str()), $doc);
        };
        ($name:ident, $values:expr, $doc:literal) => {
            schema!(
                #[doc = $doc]
                $name,
                |s| s.enum_values(Some($values)).description(Some($doc))
            );
        };
    }

    names!(
        AccountType,
        all nestegg_domain::AccountType,
        "The kind of an account."
    );
    names!(
        AccountClass,
        [
            nestegg_domain::AccountClass::Asset.as_str(),
            nestegg_domain::AccountClass::Liability.as_str(),
        ],
        "Whether an account holds what one owns or what one owes."
    );
    names!(
        TransactionCategory,
        all nestegg_domain::TransactionCategory,
        "What a transaction was for."
    );
    names!(
        InvestmentType,
        all nestegg_domain::InvestmentType,
        "The kind of a security."
    );
    names!(
        Side,
        all nestegg_domain::portfolio::Side,
        "Buy or sell."
    );
    // Parsed by the report use case, which names the same values when it refuses another;
    // tests/api/openapi.rs sends each value listed here and expects it to be accepted.
    names!(
        Interval,
        ["day", "week", "month"],
        "The spacing of points in a history."
    );
    names!(
        CashflowGrouping,
        ["category", "month", "merchant"],
        "How cash flow is grouped."
    );
    names!(
        SyncStatus,
        all nestegg_domain::SyncStatus,
        "Where a linked connection's sync stands."
    );
}
