#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bench_echo::run_echo().await
}
