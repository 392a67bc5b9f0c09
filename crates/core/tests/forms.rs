//! Typed forms over HTTP: every kind of field and a formset bound from a real request, with
//! the options of a model choice read from the database, in English and Spanish.

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use quartet_core::app::{App, CoreState};
use quartet_core::auth::models::user;
use quartet_core::forms::{
    Bound, Decimal, FieldKind, FieldSpec, Form, FormData, FormField, FormSet, FormSetSpec, FormSetView,
};
use quartet_core::templates::{PageContext, render};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSite, TestSiteBuilder, dbtest};
use sea_orm::{EntityTrait, QueryOrder};

#[derive(Debug, serde::Deserialize)]
struct Order {
    quantity: i64,
    price: Decimal,
    country: String,
    sizes: Vec<String>,
    owner: i64,
    delivery: Option<NaiveDate>,
    gift: bool,
}

impl Form for Order {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::of(FieldKind::Integer, "quantity", "Quantity").range(1, 20),
        FieldSpec::of(FieldKind::Decimal, "price", "Price").decimal(8, 2).min(0),
        FieldSpec::of(FieldKind::Choice, "country", "Country").choices(&[("us", "United States"), ("es", "Spain")]),
        FieldSpec::of(FieldKind::MultipleChoice, "sizes", "Sizes").choices(&[("s", "S"), ("m", "M")]).optional(),
        FieldSpec::of(FieldKind::ModelChoice, "owner", "Owner"),
        FieldSpec::of(FieldKind::Date, "delivery", "Delivery").optional(),
        FieldSpec::of(FieldKind::Checkbox, "gift", "Gift").optional(),
    ];
}

#[derive(Debug, serde::Deserialize)]
struct Line {
    id: Option<i64>,
    title: String,
}

impl Form for Line {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::of(FieldKind::Integer, "id", "Id").hidden().optional(),
        FieldSpec::text("title", "Title").max_length(40),
    ];
}

const LINES: FormSetSpec = FormSetSpec::new("lines").extra(1).between(1, 5).deletable().orderable();

#[derive(Template)]
#[template(
    source = r#"{% extends "base.html" %}{% block content %}
{% if !saved.is_empty() %}<p class="saved">{{ saved }}</p>{% endif %}
<form method="post" class="form">
<input type="hidden" name="csrfmiddlewaretoken" value="{{ ctx.csrf_token() }}">
{% include "forms/fields.html" %}
{% include "forms/formset.html" %}
<button type="submit">Save</button>
</form>{% endblock %}"#,
    ext = "html"
)]
struct OrderPage {
    ctx: PageContext,
    fields: Vec<FormField>,
    formset: FormSetView,
    saved: String,
}

async fn owners(core: &CoreState) -> quartet_core::Result<Vec<(String, String)>> {
    let users = user::Entity::find().order_by_asc(user::Column::Username).all(&core.db).await?;
    Ok(users.into_iter().map(|u| (u.id.to_string(), u.username)).collect())
}

fn initial_lines() -> Vec<Vec<(&'static str, String)>> {
    vec![vec![("id", "7".into()), ("title", "Intro".into())], vec![("id", "8".into()), ("title", "Traits".into())]]
}

async fn order_form(ctx: PageContext) -> quartet_core::Result<Response> {
    let tr = ctx.tr();
    let form = Bound::<Order>::new().choices("owner", owners(ctx.core()).await?);
    let formset = FormSet::<Line>::new(LINES, initial_lines()).view(&tr);
    render(&OrderPage { fields: form.fields(&tr), formset, saved: String::new(), ctx })
}

async fn order_submit(ctx: PageContext, data: FormData) -> quartet_core::Result<Response> {
    let tr = ctx.tr();
    let form = Bound::<Order>::new().choices("owner", owners(ctx.core()).await?).bind_data(&data, &tr);
    let lines = FormSet::<Line>::new(LINES, Vec::new()).bind(&data, &tr);
    let saved = match (form.valid(), lines.is_valid()) {
        (Some(order), true) => {
            let rows: Vec<String> =
                lines.rows().iter().map(|r| format!("{}#{}", r.value.title, r.value.id.unwrap_or(0))).collect();
            let deleted: Vec<&str> = lines.deleted().map(|f| f.value("id")).collect();
            format!(
                "{} × {} in {} sizes {:?} for user {} on {} gift {}; lines {} deleted {}",
                order.quantity,
                order.price,
                order.country,
                order.sizes,
                order.owner,
                order.delivery.map_or("-".to_owned(), |d| d.to_string()),
                order.gift,
                rows.join(","),
                deleted.join(","),
            )
        }
        _ => String::new(),
    };
    render(&OrderPage { fields: form.fields(&tr), formset: lines.view(&tr), saved, ctx })
}

struct Orders;

#[async_trait::async_trait]
impl App for Orders {
    fn label(&self) -> &'static str {
        "orders"
    }
    fn name(&self) -> &'static str {
        "Orders"
    }
    fn mount(&self) -> &'static str {
        "/orders/"
    }
    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .route("new", "new/", get(order_form).post(order_submit))
            .with_state(core.clone())
    }
}

fn orders_site() -> TestSiteBuilder {
    TestSite::builder().app(Orders)
}

const MANAGEMENT: [(&str, &str); 2] = [("lines-TOTAL_FORMS", "3"), ("lines-INITIAL_FORMS", "2")];

dbtest! { using orders_site();
    async fn a_typed_form_and_a_formset_are_bound_from_the_request(site) {
        let ana = site.create_user("ana", TestSite::PASSWORD).await;
        let client = site.client();
        let page = client.get("/orders/new/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.texts("#id_owner option"), ["---------", "ana"], "the rows offered");
        assert_eq!(page.attrs("#id_quantity", "min"), ["1"]);
        assert_eq!(page.attrs("#id_price", "step"), ["0.01"]);
        assert!(page.attrs("#id_sizes", "multiple").len() == 1);
        assert_eq!(page.attrs("#id_lines-TOTAL_FORMS", "value"), ["3"]);
        assert_eq!(page.attrs("#id_lines-1-title", "value"), ["Traits"]);

        let owner = ana.id.to_string();
        let mut fields = vec![
            ("quantity", "3"),
            ("price", "19.9"),
            ("country", "es"),
            ("sizes", "s"),
            ("sizes", "m"),
            ("owner", owner.as_str()),
            ("delivery", "2026-12-24"),
            ("gift", "on"),
            ("lines-0-id", "7"),
            ("lines-0-title", "Intro"),
            ("lines-0-ORDER", "2"),
            ("lines-1-id", "8"),
            ("lines-1-title", "Traits"),
            ("lines-1-DELETE", "on"),
            ("lines-2-title", "Closures"),
            ("lines-2-ORDER", "1"),
        ];
        fields.extend(MANAGEMENT);
        let saved = client.post_form("/orders/new/", &fields).await;
        assert_eq!(
            saved.text(".saved"),
            format!("3 × 19.90 in es sizes [\"s\", \"m\"] for user {owner} on 2026-12-24 gift true; lines Closures#0,Intro#7 deleted 8")
        );
    }
}

dbtest! { using orders_site();
    async fn each_field_is_refused_with_djangos_message_in_the_visitors_language(site) {
        site.create_user("ana", TestSite::PASSWORD).await;
        let client = site.client();
        let mut fields = vec![
            ("quantity", "21"),
            ("price", "1.999"),
            ("country", "fr"),
            ("sizes", "xl"),
            ("owner", "999999"),
            ("delivery", "2026-02-30"),
            ("lines-0-title", ""),
        ];
        fields.extend([("lines-TOTAL_FORMS", "1"), ("lines-INITIAL_FORMS", "1")]);
        let english = client.post_form("/orders/new/", &fields).await;
        assert_eq!(english.status, 200);
        assert_eq!(english.texts(".errorlist li"), [
            "Ensure this value is less than or equal to 20.",
            "Ensure that there are no more than 2 decimal places.",
            "Select a valid choice. fr is not one of the available choices.",
            "Select a valid choice. xl is not one of the available choices.",
            "Select a valid choice. That choice is not one of the available choices.",
            "Enter a valid date.",
            "This field is required.",
        ]);
        assert_eq!(english.attrs("#id_quantity", "value"), ["21"], "what was typed is shown again");

        client.set_cookie("quartet_language", "es");
        let spanish = client.post_form("/orders/new/", &fields).await;
        assert_eq!(spanish.texts(".errorlist li"), [
            "Asegúrese de que este valor es menor o igual a 20.",
            "Asegúrese de que no hay más de 2 dígitos decimales.",
            "Escoja una opción válida. fr no es una de las opciones disponibles.",
            "Escoja una opción válida. xl no es una de las opciones disponibles.",
            "Escoja una opción válida. Esa opción no está entre las disponibles.",
            "Introduzca una fecha válida.",
            "Este campo es obligatorio.",
        ]);
        assert_eq!(spanish.texts(".formset-controls label")[..2], ["Orden".to_owned(), "Eliminar".to_owned()]);
    }
}

dbtest! { using orders_site();
    async fn add_another_and_a_forged_management_form_lose_nothing(site) {
        let client = site.client();
        let mut fields = vec![("quantity", "2"), ("lines-0-title", "Kept while adding"), ("lines-ADD", "1")];
        fields.extend([("lines-TOTAL_FORMS", "1"), ("lines-INITIAL_FORMS", "0")]);
        let adding = client.post_form("/orders/new/", &fields).await;
        assert_eq!(adding.status, 200);
        assert_eq!(adding.attrs("#id_lines-TOTAL_FORMS", "value"), ["2"]);
        assert_eq!(adding.attrs("#id_lines-0-title", "value"), ["Kept while adding"]);
        assert_eq!(adding.attrs("#id_lines-1-title", "value"), Vec::<String>::new(), "a blank form added");
        assert!(adding.texts(".formset .errorlist li").is_empty(), "no error while adding");

        let forged = client
            .post_form("/orders/new/", &[("quantity", "2"), ("lines-TOTAL_FORMS", "99999999"), ("lines-INITIAL_FORMS", "0")])
            .await;
        assert_eq!(forged.status, 200);
        assert_eq!(forged.texts(".errorlist.nonform li"), ["Please submit at most 5 forms."]);
        let missing = client.post_form("/orders/new/", &[("quantity", "2")]).await;
        assert_eq!(missing.status, 200);
        assert!(missing.text(".errorlist.nonform li").starts_with("ManagementForm data is missing"));
    }
}
