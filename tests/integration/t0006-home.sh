#!/bin/sh
# "~/x" in a topology means the user's home: $HOME, or the password
# database's entry when HOME is unset or empty; never a directory named
# "~" beside the topology (defect 6: inventories, user_data and secret
# files took DIR/~/x when HOME was unset).
. "$TESTLIB"

pw_home=$(getent passwd "$(id -u)" | cut -d: -f6)
[ -n "$pw_home" ] || pw_home=/
name="deploy-test-no-such-$$"

mkdir -p d/'~' home
# A decoy where the old reading looked: it must not be taken.
printf '[a]\ndecoy-1 ansible_host=192.0.2.1\n' >d/'~'/"$name.ini"
echo secret >d/'~'/"$name.key"
cat >d/t.yml <<YAML
version: 1
name: h
secrets: {k: {file: ~/$name.key}}
roles:
  a: {provider: ssh, inventory: ~/$name.ini}
YAML

for how in unset empty; do
	if [ $how = unset ]; then
		run env -u HOME "$DEPLOY" validate d/t.yml
	else
		run env HOME= "$DEPLOY" validate d/t.yml
	fi
	expect_rc 1 "HOME $how: the inventory in the home is missing"
	expect_line "$TMP/err" "d/t.yml:5:33: error: inventory '${pw_home%/}/$name.ini' cannot be read: No such file or directory" \
		"HOME $how: ~ is the password database's home"
	expect_line "$TMP/err" "d/t.yml:3:11: warning: secret 'k': file '~/$name.key' cannot be read ('deploy up' will need it)" \
		"HOME $how: the secret is looked for in the home, not in d/~"
	expect_no_match "$TMP/out" "decoy-1" "HOME $how: d/~ is not read"
done

# With HOME set, ~ is HOME.
mv d/'~'/"$name.ini" d/'~'/"$name.key" home/
run env HOME="$TMP/home" "$DEPLOY" validate d/t.yml
expect_rc 0 "HOME set: both files found in it"
expect_line "$TMP/out" "roles: 1, hosts: 1" "HOME set: the inventory's host"
expect_no_match "$TMP/err" "cannot be read" "HOME set: no warning"

finish
