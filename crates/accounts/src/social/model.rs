//! `accounts_social_auth`: which provider's subject signs in to which account.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A link between an account and a provider's subject (`sub`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "accounts_social_auth")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account.
    pub user_id: i64,
    /// The provider's key (`google-oauth2`).
    pub provider: String,
    /// The provider's subject identifier: stable, unlike the e-mail address.
    pub uid: String,
    /// The address the provider gave at the last sign-in.
    pub email: String,
    /// When the link was made.
    pub created: DateTimeUtc,
    /// The last sign-in through it.
    pub last_used: Option<DateTimeUtc>,
}

/// No relations used.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
