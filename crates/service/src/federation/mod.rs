//! Sign-in through identity providers: any OpenID Connect issuer (Google among them) and
//! GitHub's OAuth 2.0. A provider identity is keyed on its issuer and subject, never its email;
//! linking rules live in `handlers::federation`.

pub mod client;
pub mod flow;
pub mod github;
pub mod identity;
pub mod oidc;
pub mod provider;
