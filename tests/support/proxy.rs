//! A TCP proxy in front of DynamoDB Local that a test can cut, to see the service answer an
//! outage with 503 and write nothing half-way.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub struct Proxy {
    pub address: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        Self {
            address,
            target,
            task: Some(tokio::spawn(serve(listener, target))),
        }
    }

    /// Closes the listener and every open connection: DynamoDB is now unreachable.
    pub async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same address.
    pub async fn restore(&mut self) {
        let listener = TcpListener::bind(self.address)
            .await
            .expect("rebind the proxy");
        self.task = Some(tokio::spawn(serve(listener, self.target)));
    }
}

async fn serve(listener: TcpListener, target: SocketAddr) {
    // Owning the connections here means aborting this task drops (closes) them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        connections.spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
