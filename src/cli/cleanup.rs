//! `psconform cleanup`: finds what runs left on a target (objects named
//! `psconform-<run id>-…`), shows them, and deletes them only with `--allow-mutations` and a
//! yes (`--yes`, or on a terminal). The sweep itself is `run::sweep`; this wires it.

use super::args::CleanupArgs;
use super::commands::out;
use super::config::{http_options, plain_http_proxy};
use crate::coverage::Catalog;
use crate::result::Exit;
use crate::seal::Redactor;
use crate::secret::SecretStore;
use crate::settings::Settings;

/// `psconform cleanup`: what runs left on a target, listed, and removed when asked.
pub fn cleanup(args: &CleanupArgs) -> Exit {
    use crate::run::sweep;
    let t = &args.target;
    if t.scheme() == "http" && !super::config::is_loopback(t) && !args.allow_plain_http {
        anstream::eprintln!(
            "error: {t} is plain http:// to a host other than loopback: credentials would cross the network in clear; use https:// or --allow-plain-http"
        );
        return Exit::Invalid;
    }
    if let Some(refusal) = plain_http_proxy(Some(t), args.http.proxy.as_ref(), args.allow_plain_http) {
        anstream::eprintln!("error: {refusal}");
        return Exit::Invalid;
    }
    if args.yes && !args.allow_mutations {
        anstream::eprintln!("error: --yes deletes objects on the target: add --allow-mutations to allow it");
        return Exit::Invalid;
    }
    let settings = Settings::from_env();
    let redactor = Redactor::new(vec![SecretStore::configured(settings.secret_values())]);
    let http = match crate::run::http::Http::new(http_options(&args.http, Some(t))) {
        Ok(h) => h,
        Err(e) => {
            anstream::eprintln!("error: {}", redactor.text(&e.to_string()));
            return Exit::Invalid;
        }
    };
    let Ok(catalog) = Catalog::shared() else { return Exit::Invalid };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            anstream::eprintln!("error: cannot start the async runtime: {e}");
            return Exit::NothingRan;
        }
    };
    let jar = reqwest_cookie_store::CookieStoreMutex::default();
    rt.block_on(async {
        if let Err(e) = sweep::sign_in(&http, t, &settings, &jar).await {
            anstream::eprintln!("error: {}", redactor.text(&e.to_string()));
            return if matches!(e, sweep::SweepError::Transport(_)) { Exit::NothingRan } else { Exit::Failed };
        }
        let found = match sweep::find(&http, t, &jar, catalog).await {
            Ok(f) => redactor.seal(f).into_inner(),
            Err(e) => {
                anstream::eprintln!("error: {}", redactor.text(&e.to_string()));
                sweep::sign_out(&http, t, &jar).await;
                return Exit::NothingRan;
            }
        };
        if found.is_empty() {
            sweep::sign_out(&http, t, &jar).await;
            anstream::eprintln!("cleanup: nothing named {}<run id>-… is left on {t}", sweep::PREFIX);
            return if args.json { out("[]\n") } else { Exit::Passed };
        }
        anstream::eprintln!("cleanup: {} object(s) named {}<run id>-… on {t}:", found.len(), sweep::PREFIX);
        anstream::eprint!("{}", sweep::table(&found));
        let go = args.yes || (args.allow_mutations && confirm(found.len()));
        if !go {
            sweep::sign_out(&http, t, &jar).await;
            anstream::eprintln!("cleanup: nothing was deleted (--yes --allow-mutations deletes them)");
            if args.json {
                let _ = out(&(serde_json::to_string_pretty(&found).unwrap_or_default() + "\n"));
            }
            return Exit::Failed;
        }
        let results = sweep::remove(&http, t, &jar, &found).await;
        sweep::sign_out(&http, t, &jar).await;
        let mut left = 0;
        for (l, r) in &results {
            match r {
                Ok(status) => anstream::eprintln!("  removed {} {:?} ({status})", l.model, l.name),
                Err(why) => {
                    left += 1;
                    anstream::eprintln!("  NOT removed {} {:?}: {}", l.model, l.name, redactor.text(why));
                }
            }
        }
        anstream::eprintln!("cleanup: {} removed, {left} left", results.len() - left);
        if args.json {
            let report: Vec<serde_json::Value> = results
                .iter()
                .map(|(l, r)| serde_json::json!({ "object": l, "removed": r.is_ok(), "error": r.as_ref().err() }))
                .collect();
            let _ = out(&(serde_json::to_string_pretty(&redactor.seal(serde_json::Value::Array(report)).into_inner())
                .unwrap_or_default()
                + "\n"));
        }
        if left == 0 { Exit::Passed } else { Exit::Failed }
    })
}

/// Asks on a terminal whether to delete; anything but `y` or `yes` is no, and so is no
/// terminal.
fn confirm(n: usize) -> bool {
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        return false;
    }
    anstream::eprint!("delete these {n} object(s)? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok()
        && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
