module github.com/chanprune/chanprune

go 1.24.0
