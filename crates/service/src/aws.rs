//! The shared AWS configuration (region, credentials, endpoints), loaded once per execution
//! environment: the store and the secrets reader both build their clients from it, so a cold
//! start resolves the credential chain once.

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

static SHARED: OnceCell<SdkConfig> = OnceCell::const_new();

pub async fn shared_config() -> &'static SdkConfig {
    SHARED
        .get_or_init(|| async {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await
        })
        .await
}
