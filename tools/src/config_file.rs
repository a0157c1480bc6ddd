//! `--config FILE` for the commands whose flags map one to one onto TOML
//! keys (`serve`, `gen`, `fwd`): every key becomes its flag (`udp-echo = [7,
//! 9]` is `--udp-echo 7 --udp-echo 9`, `json = true` is `--json`), placed
//! before the command line's flags; a key whose flag is also on the command
//! line is left out, so flags override (lists included).

/// The arguments with `--config FILE` replaced by the file's keys as flags.
///
/// # Errors
///
/// The file cannot be read or is not TOML of plain values.
pub fn expand(args: &[String]) -> Result<Vec<String>, String> {
    let mut rest = Vec::new();
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--config" {
            file = Some(it.next().ok_or("--config needs a value")?.clone());
        } else {
            rest.push(arg.clone());
        }
    }
    let Some(path) = file else {
        return Ok(rest);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("--config {path}: cannot read it: {e}"))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("--config {path}: {e}"))?;
    let mut out = Vec::new();
    for (key, value) in &table {
        let flag = format!("--{key}");
        if rest.contains(&flag) {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for value in values {
            match value {
                toml::Value::Boolean(true) => out.push(flag.clone()),
                toml::Value::Boolean(false) => {}
                toml::Value::String(s) => out.extend([flag.clone(), s.clone()]),
                toml::Value::Integer(n) => out.extend([flag.clone(), n.to_string()]),
                toml::Value::Float(x) => out.extend([flag.clone(), x.to_string()]),
                other => {
                    return Err(format!(
                        "--config {path}: {key} = {other} is not a string, number or boolean"
                    ))
                }
            }
        }
    }
    out.extend(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_flags_and_flags_override() {
        let dir = std::env::temp_dir().join(format!("strata-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(
            &path,
            "iface = \"eth9\"\nudp-echo = [7, 9]\njson = true\nno-dad = false\nip = \"10.0.0.1/24\"\n",
        )
        .unwrap();
        let args: Vec<String> = ["--config", path.to_str().unwrap(), "--ip", "10.0.0.2/24"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = expand(&args).unwrap();
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            [
                "--iface",
                "eth9",
                "--json",
                "--udp-echo",
                "7",
                "--udp-echo",
                "9",
                "--ip",
                "10.0.0.2/24"
            ]
        );
        std::fs::write(&path, "mac = { a = 1 }\n").unwrap();
        assert!(expand(&args).unwrap_err().contains("not a string"));
        let missing = vec![
            "--config".to_owned(),
            dir.join("none.toml").display().to_string(),
        ];
        assert!(expand(&missing).unwrap_err().contains("cannot read"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
