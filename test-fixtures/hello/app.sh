echo "$GREETING $NAME from $(hostname): $(cat /app/build.txt)"
