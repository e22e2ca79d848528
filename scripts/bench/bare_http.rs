//! The baseline of `scripts/bench/run`: a bare actix-web server, one worker
//! like a bot's default, that answers `GET /healthz` and
//! `GET /api/v1/automation/tasks/{id}` with the same bodies alice sends, and
//! nothing else (no auth, no middleware, no storage).
//!
//!   bare_http PORT HEALTHZ_BODY_FILE TASK_BODY_FILE

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, health, task] = args.as_slice() else {
        panic!("usage: bare_http PORT HEALTHZ_BODY_FILE TASK_BODY_FILE");
    };
    let health = web::Bytes::from(std::fs::read(health)?);
    let task = web::Bytes::from(std::fs::read(task)?);
    HttpServer::new(move || {
        let (health, task) = (health.clone(), task.clone());
        App::new()
            .route(
                "/healthz",
                web::get().to(move || {
                    let body = health.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
            .route(
                "/api/v1/automation/tasks/{id}",
                web::get().to(move |_id: web::Path<String>| {
                    let body = task.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", port.parse::<u16>().expect("a port")))?
    .run()
    .await
}
