//! Page weight and server time per page, measured in the browser (Navigation and Resource Timing, and the
//! portal's own `Server-Timing: app;dur=`), p50 over repeated loads on the local stack.

use browser_tests::driver::Page;

use super::sign_in;
use crate::Ctx;

const LOADS: usize = 11;

fn p50(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

pub async fn pages(ctx: &Ctx) -> Result<(), String> {
    let id = ctx.registration_id()?;
    let client = ctx.driver.browser().await?;
    let outcome = measure(ctx, &client, &id).await;
    let _ = client.close().await;
    outcome
}

async fn measure(ctx: &Ctx, client: &fantoccini::Client, id: &str) -> Result<(), String> {
    sign_in(client, &ctx.stack, "adele", None).await?;
    let page = Page(client);
    let pages = [
        ("overview", "/".to_owned()),
        ("registrations", "/registrations".to_owned()),
        ("registration", format!("/registrations/{id}")),
        ("new registration", "/registrations/new".to_owned()),
        ("connection test", format!("/registrations/{id}/test")),
        ("activity", "/activity".to_owned()),
    ];
    println!("\n  page               HTML bytes  + CSS/JS bytes   handler p50   response p50 (browser)");
    for (name, path) in pages {
        let (mut handler, mut response) = (Vec::new(), Vec::new());
        let mut weight = (0.0f64, 0.0f64);
        for _ in 0..LOADS {
            page.goto(&format!("{}{path}", ctx.stack.portal_url)).await?;
            let timing = page
                .script(
                    "const n = performance.getEntriesByType('navigation')[0];
                     const app = (n.serverTiming || []).find(t => t.name === 'app');
                     const assets = performance.getEntriesByType('resource')
                       .reduce((sum, r) => sum + (r.decodedBodySize || 0), 0);
                     return [app ? app.duration : -1, n.responseStart - n.requestStart, n.decodedBodySize, assets];",
                )
                .await?;
            let value = |i: usize| timing[i].as_f64().unwrap_or(-1.0);
            handler.push(value(0));
            response.push(value(1));
            weight = (value(2), weight.1.max(value(3)));
        }
        println!(
            "  {name:<18} {:>10.0}  {:>14.0}   {:>8.1} ms   {:>8.1} ms",
            weight.0,
            weight.1,
            p50(&mut handler),
            p50(&mut response)
        );
    }
    Ok(())
}
