//! `mox example [name]`: mox's examples (webhook request bodies), listed or printed.

use std::io::Write as _;

use crate::cmd::{Run, usage_error};
use crate::context::Context;

/// List available examples, or print a specific example.
#[derive(Debug, clap::Args)]
pub(crate) struct Example {
    /// Name of the example to print; without it, the names are listed.
    #[arg(value_name = "name")]
    name: Option<String>,
}

impl Run for Example {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        print_example(ctx, EXAMPLES, self.name.as_deref())
    }
}

/// Lists the names of `examples`, or prints the one called `name`.
pub(crate) fn print_example(
    ctx: &Context,
    examples: &[(&str, &str)],
    name: Option<&str>,
) -> anyhow::Result<()> {
    let mut out = ctx.stdout();
    match name {
        None => {
            for (name, _) in examples {
                writeln!(out, "{name}")?;
            }
        }
        Some(name) => {
            let (_, text) = examples
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| usage_error(format!("example {name:?} not found")))?;
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// The examples as mox v0.0.17 prints them, in its order.
const EXAMPLES: &[(&str, &str)] = &[
    ("webhook-outgoing-delivered", r#"Example webhook HTTP POST JSON body for successful outgoing delivery:

	{
		"Version": 0,
		"Event": "delivered",
		"DSN": false,
		"Suppressing": false,
		"QueueMsgID": 101,
		"FromID": "MDEyMzQ1Njc4OWFiY2RlZg",
		"MessageID": "<QnxzgulZK51utga6agH_rg@mox.example>",
		"Subject": "subject of original message",
		"WebhookQueued": "2024-03-27T00:00:00Z",
		"SMTPCode": 250,
		"SMTPEnhancedCode": "",
		"Error": "",
		"Extra": {}
	}
"#),
    ("webhook-outgoing-dsn-failed", r#"Example webhook HTTP POST JSON body for failed delivery based on incoming DSN
message, with custom extra data fields (from original submission), and adding address to the suppression list:

	{
		"Version": 0,
		"Event": "failed",
		"DSN": true,
		"Suppressing": true,
		"QueueMsgID": 102,
		"FromID": "MDEyMzQ1Njc4OWFiY2RlZg",
		"MessageID": "<QnxzgulZK51utga6agH_rg@mox.example>",
		"Subject": "subject of original message",
		"WebhookQueued": "2024-03-27T00:00:00Z",
		"SMTPCode": 554,
		"SMTPEnhancedCode": "5.4.0",
		"Error": "timeout connecting to host",
		"Extra": {
			"userid": "456"
		}
	}
"#),
    ("webhook-incoming-basic", r#"Example JSON body for webhooks for incoming delivery of basic message:

	{
		"Version": 0,
		"From": [
			{
				"Name": "",
				"Address": "mox@localhost"
			}
		],
		"To": [
			{
				"Name": "",
				"Address": "mjl@localhost"
			}
		],
		"CC": [],
		"BCC": [],
		"ReplyTo": [],
		"Subject": "hi",
		"MessageID": "<QnxzgulZK51utga6agH_rg@mox.example>",
		"InReplyTo": "",
		"References": [],
		"Date": "2024-03-27T00:00:00Z",
		"Text": "hello world ☺\n",
		"HTML": "",
		"Structure": {
			"ContentType": "text/plain",
			"ContentTypeParams": {
				"charset": "utf-8"
			},
			"ContentID": "",
			"ContentDisposition": "",
			"Filename": "",
			"DecodedSize": 17,
			"Parts": []
		},
		"Meta": {
			"MsgID": 201,
			"MailFrom": "mox@localhost",
			"MailFromValidated": false,
			"MsgFromValidated": true,
			"RcptTo": "mjl@localhost",
			"DKIMVerifiedDomains": [
				"localhost"
			],
			"RemoteIP": "127.0.0.1",
			"Received": "2024-03-27T00:00:03Z",
			"MailboxName": "Inbox",
			"Automated": false
		}
	}
"#),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    async fn run(name: Option<&str>) -> anyhow::Result<String> {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        Example { name: name.map(str::to_string) }.run(&ctx).await?;
        Ok(String::from_utf8(printed.lock().expect("lock").clone()).expect("UTF-8"))
    }

    #[tokio::test]
    async fn lists_and_prints() {
        assert_eq!(
            run(None).await.unwrap(),
            "webhook-outgoing-delivered\nwebhook-outgoing-dsn-failed\nwebhook-incoming-basic\n"
        );
        let text = run(Some("webhook-outgoing-delivered")).await.unwrap();
        assert!(text.starts_with("Example webhook HTTP POST JSON body for successful outgoing delivery:"));
        // The JSON after the first line is valid.
        let json = text.split_once('\n').unwrap().1;
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(value["Event"], "delivered");
        assert!(run(Some("nope")).await.is_err());
    }
}
