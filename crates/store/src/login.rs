//! What an account keeps to check logins: the derived secrets of its password (never the
//! password), as an opaque encoding chosen by the caller (the `runtime` crate stores
//! `sasl::StoredCredentials`). Kept in the account's database so a backup carries it and
//! it changes atomically.

use crate::Error;
use crate::account::{Account, Tx};

/// Key of the login credentials in the `meta` table.
const META_LOGIN_CREDENTIALS: &[u8] = b"login_credentials";

impl Account {
    /// The login credentials set with [`Account::set_login_credentials`], if any.
    pub fn login_credentials(&self) -> Result<Option<Vec<u8>>, Error> {
        let txn = self.inner.env.read_txn().map_err(self.inner.db_err("begin read transaction"))?;
        let v = self
            .inner
            .db
            .meta
            .get(&txn, META_LOGIN_CREDENTIALS)
            .map_err(self.inner.db_err("read login credentials"))?;
        Ok(v.map(<[u8]>::to_vec))
    }

    /// Replaces the login credentials (`None` removes them: no login is possible). Durable
    /// when this returns, like every committed change.
    pub fn set_login_credentials(&self, credentials: Option<&[u8]>) -> Result<(), Error> {
        self.inner.write(|tx: &mut Tx<'_>| {
            let meta = tx.db().meta;
            match credentials {
                Some(c) => meta
                    .put(&mut tx.txn, META_LOGIN_CREDENTIALS, c)
                    .map_err(tx.err("write login credentials")),
                None => meta
                    .delete(&mut tx.txn, META_LOGIN_CREDENTIALS)
                    .map(|_| ())
                    .map_err(tx.err("remove login credentials")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Account;

    #[test]
    fn credentials_are_kept_replaced_and_removed_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        {
            let acc = Account::open_or_create(&path).unwrap();
            assert_eq!(acc.login_credentials().unwrap(), None);
            acc.set_login_credentials(Some(b"first")).unwrap();
            acc.set_login_credentials(Some(b"second")).unwrap();
        }
        let acc = Account::open_existing(&path).unwrap();
        assert_eq!(acc.login_credentials().unwrap().as_deref(), Some(&b"second"[..]));
        acc.set_login_credentials(None).unwrap();
        assert_eq!(acc.login_credentials().unwrap(), None);
        drop(acc);
        let ro = Account::open_read_only(&path).unwrap();
        assert_eq!(ro.login_credentials().unwrap(), None);
        assert!(ro.set_login_credentials(Some(b"x")).is_err());
    }
}
